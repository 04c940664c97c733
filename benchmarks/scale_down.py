"""Scale Down: how small can the personal adapter be? Rank 1, 2, 4, 8, 16 on one dataset.

Distills the log of $PERSONAL_HOME once (or reuses its newest dataset), trains one adapter
per rank with the same steps and seed, exports each to GGUF-LoRA and measures with the
gate on the held-out split: adherence per preference, tool-habit rate, held-out CE.
Prints a table (adapter bytes: MLX safetensors and GGUF).

    PERSONAL_HOME=... .venv/bin/python benchmarks/scale_down.py [--ranks 1 2 4 8 16] [--iters 40]
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

from personal import catalog, paths  # noqa: E402
from personal.engine.llama import LlamaEngine  # noqa: E402
from personal.learn import gate  # noqa: E402
from personal.learn.config import TrainConfig  # noqa: E402
from personal.learn.dataset import load_dataset  # noqa: E402
from personal.learn.export import export_gguf  # noqa: E402
from personal.learn.worker import TrainJob, run_training  # noqa: E402


def newest_dataset() -> Path:
    found = sorted((paths.home() / "datasets").glob("*/manifest.json"), key=os.path.getmtime)
    if not found:
        sys.exit("no dataset under $PERSONAL_HOME/datasets: run `personal train --dry-run` first")
    return found[-1].parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--limit", type=int, default=12, help="held-out prompts per metric")
    ap.add_argument("--layers", type=int, default=TrainConfig.layers, help="last N blocks")
    ap.add_argument("--targets", default="all", help="'all' or e.g. self_attn.q_proj,self_attn.v_proj")
    args = ap.parse_args()
    base = catalog.resolve(None)
    dataset = load_dataset(newest_dataset())
    work = Path(tempfile.mkdtemp(prefix="scale-down-"))
    adapters: dict[str, Path | None] = {"none": None}
    targets = {} if args.targets == "all" else {"targets": tuple(args.targets.split(","))}
    rows = []
    for rank in args.ranks:
        config = replace(TrainConfig(), rank=rank, iters=args.iters, save_every=1000,
                         layers=args.layers, **targets)  # fmt: skip
        out = work / f"r{rank}"
        t = time.perf_counter()
        report = run_training(TrainJob(base.path, base.fingerprint, base.name, dataset.path,
                                       out / "run", out / "mlx", config))  # fmt: skip
        gguf = export_gguf(out / "mlx", base, out / "adapter.gguf")
        adapters[f"r{rank}"] = gguf
        rows.append((rank, (out / "mlx" / "adapters.safetensors").stat().st_size,
                     gguf.stat().st_size, report.tokens_per_s, time.perf_counter() - t))  # fmt: skip
        print(f"rank {rank}: trained in {rows[-1][-1]:.0f} s", flush=True)
    engine = LlamaEngine(base, n_ctx=2048)
    metrics = gate.evaluate(base, dataset, engine, adapters, limit=args.limit)
    engine.close()
    print(f"\nbase {base.name}, dataset {dataset.short}, {args.iters} steps, last {args.layers} "
          f"blocks, targets {args.targets}, {args.limit} held-out prompts per metric\n")  # fmt: skip
    prefs = list(metrics["none"].adherence)
    head = "| rank | MLX bytes | GGUF bytes | " + " | ".join(f"adherence: {p}" for p in prefs)
    print(head + " | tool habit | held-out CE | train tok/s |")
    print("|" + "---|" * (6 + len(prefs)))
    for label, m in metrics.items():
        size = next(((r[1], r[2], r[3]) for r in rows if f"r{r[0]}" == label), ("–", "–", None))
        adh = " | ".join(f"{m.adherence.get(p, 0):.0%}" for p in prefs)
        tps = f"{size[2]:.0f}" if size[2] else "–"
        print(f"| {label.lstrip('r') if label != 'none' else 'none'} | {size[0]} | {size[1]} | "
              f"{adh} | {m.tool_rate or 0:.0%} | {m.ce:.3f} | {tps} |")  # fmt: skip


if __name__ == "__main__":
    main()
