"""Scale Down: how small can the personal adapter be? Ranks and layouts on one dataset.

Distills the log of $PERSONAL_HOME once (or reuses its newest dataset), trains one adapter
per (layout, rank) with the same steps and seed, exports each to GGUF-LoRA and measures with
the gate on the held-out split: adherence per preference, tool-habit rate, held-out CE.
Prints a table (adapter bytes: MLX safetensors and GGUF).

A layout is PROJECTIONS@LAYERS: `all@16` (the default: all seven projections of the last 16
blocks) or short names, e.g. `q,v@8` (attn q and v of the last 8 blocks).

    PERSONAL_HOME=... .venv/bin/python benchmarks/scale_down.py [--ranks 1 2 4 8 16] \
        [--layouts all@16 q,v@8] [--iters 40]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from personal import paths
from personal.adapters.formats import export_gguf  # noqa: E402
from personal.engine.llama import LlamaEngine  # noqa: E402
from personal.learn.config import ALL_TARGETS, TrainConfig  # noqa: E402
from personal.learn.dataset import load_dataset  # noqa: E402
from personal.learn.judge import gate  # noqa: E402
from personal.learn.train.worker import TrainJob, run_training  # noqa: E402
from personal.models import catalog  # noqa: E402


def newest_dataset() -> Path:
    found = sorted((paths.home() / "datasets").glob("*/manifest.json"), key=os.path.getmtime)
    if not found:
        sys.exit("no dataset under $PERSONAL_HOME/datasets: run `personal train --dry-run` first")
    return found[-1].parent


SHORT = {t.split(".")[1].removesuffix("_proj"): t for t in ALL_TARGETS}  # q, k, …, down


def layout(text: str) -> tuple[tuple[str, ...], int]:
    """`q,v@8` → ((self_attn.q_proj, self_attn.v_proj), 8)."""
    names, _, layers = text.partition("@")
    if names == "all":
        return ALL_TARGETS, int(layers or TrainConfig.layers)
    try:
        return tuple(SHORT[n] for n in names.split(",")), int(layers or TrainConfig.layers)
    except (KeyError, ValueError):
        sys.exit(f"bad layout {text!r}: use PROJECTIONS@LAYERS, projections 'all' or from "
                 f"{','.join(SHORT)}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--limit", type=int, default=12, help="held-out prompts per metric")
    ap.add_argument("--layouts", nargs="+", default=[f"all@{TrainConfig.layers}"],
                    help="PROJECTIONS@LAYERS, e.g. all@16 q,v@8")  # fmt: skip
    args = ap.parse_args()
    base = catalog.resolve(None)
    dataset = load_dataset(newest_dataset())
    work = Path(tempfile.mkdtemp(prefix="scale-down-"))
    adapters: dict[str, Path | None] = {"none": None}
    rows = {}
    for text in args.layouts:
        targets, layers = layout(text)
        for rank in args.ranks:
            label = f"r{rank} {text}"
            config = replace(TrainConfig(), rank=rank, iters=args.iters, save_every=1000,
                             layers=layers, targets=targets)  # fmt: skip
            out = work / label.replace(" ", "_").replace(",", "+").replace("@", "-")
            t = time.perf_counter()
            report = run_training(TrainJob(base.path, base.fingerprint, base.name, dataset.path,
                                           out / "run", out / "mlx", config))  # fmt: skip
            adapters[label] = export_gguf(out / "mlx", base, out / "adapter.gguf")
            rows[label] = ((out / "mlx" / "adapters.safetensors").stat().st_size,
                           adapters[label].stat().st_size, report.tokens_per_s)  # fmt: skip
            print(f"{label}: trained in {time.perf_counter() - t:.0f} s", flush=True)
    engine = LlamaEngine(base, n_ctx=2048)
    metrics = gate.evaluate(base, dataset, engine, adapters, limit=args.limit)
    engine.close()
    print(f"\nbase {base.name}, dataset {dataset.short}, {args.iters} steps, "
          f"{args.limit} held-out prompts per metric\n")  # fmt: skip
    prefs = list(metrics["none"].adherence)
    head = "| adapter | MLX bytes | GGUF bytes | " + " | ".join(f"adherence: {p}" for p in prefs)
    print(head + " | tool habit | held-out CE | train tok/s |")
    print("|" + "---|" * (6 + len(prefs)))
    for label, m in metrics.items():
        mlx_bytes, gguf_bytes, tps = rows.get(label, ("–", "–", None))
        adh = " | ".join(f"{m.adherence.get(p, 0):.0%}" for p in prefs)
        print(f"| {label} | {mlx_bytes} | {gguf_bytes} | {adh} | {m.tool_rate or 0:.0%} | "
              f"{m.ce:.3f} | {f'{tps:.0f}' if tps else '–'} |")  # fmt: skip


if __name__ == "__main__":
    main()
