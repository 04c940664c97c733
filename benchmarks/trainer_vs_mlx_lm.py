"""The trainer against `mlx_lm.lora`, side by side: same model, data, layout, steps.

Three ways to train the embedded default (SmolLM2-135M, fp32, the conversion the trainer
uses) on the same chat data — the chat's default system prompt, a question, an answer —
each in its own process with OpenBLAS preloaded (as the training worker runs), taking turns
so that a busy machine slows them alike:

- `personal`: personal's trainer (personal/learn/train/trainer.py) as the worker runs it:
  shared-prefix batches, LM head on answer tokens only, the polynomial-exp SiLU;
- `personal, MLX SiLU`: the same without the fast SiLU (fastsilu.py not installed);
- `mlx_lm.lora`: mlx-lm's own LoRA trainer (its `train_model`), `--mask-prompt`.

Layout for all: rank 8, scale 20, the last 3 blocks, the seven projections, batch 4, Adam
2e-4, seed 0. Reported per way: median seconds per step (the first step, which compiles,
and any validation excluded) and answer tokens per second (the loss-bearing tokens, as
mlx-lm counts them); the ratios are to mlx_lm.lora.

    .venv/bin/python benchmarks/trainer_vs_mlx_lm.py [--iters 12] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import types
from itertools import pairwise
from pathlib import Path

WAYS = ("personal", "personal, MLX SiLU", "mlx_lm.lora")
KEYS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]  # fmt: skip


def chats(n: int) -> list[dict]:
    """n chats under the default system prompt (benchmarks/train_speed.py's pattern)."""
    from benchmarks.train_speed import synthetic
    from personal.chat.session import DEFAULT_SYSTEM_PROMPT

    system = {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    return [{"messages": [system, *x["messages"]]} for x in synthetic(n)]


def run_personal(model_dir: Path, data: Path, iters: int, fast_silu: bool) -> dict:
    from personal.learn.config import TrainConfig
    from personal.learn.train import events
    from personal.learn.train.trainer import train

    if fast_silu:
        from personal.learn.train import fastsilu

        fastsilu.install()
    stamps: list[tuple[float, int]] = []

    def on_event(e: object) -> None:
        if isinstance(e, events.Step):
            stamps.append((time.perf_counter(), e.tokens))  # target tokens so far

    config = TrainConfig(iters=iters, val_every=0, save_every=iters, batch_size=4, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        train(model_dir, data, Path(tmp) / "run", Path(tmp) / "out", config, on_event=on_event)
    steps = [(t1 - t0, n1 - n0) for (t0, n0), (t1, n1) in pairwise(stamps)]
    return {"s_per_step": [s for s, _ in steps], "tokens": [n for _, n in steps]}


def run_mlx_lm(model_dir: Path, data: Path, iters: int) -> dict:
    from mlx_lm.lora import CONFIG_DEFAULTS, train_model
    from mlx_lm.tuner.callbacks import TrainingCallback
    from mlx_lm.tuner.datasets import load_dataset
    from mlx_lm.utils import load

    seen: list[dict] = []

    class Record(TrainingCallback):
        def on_train_loss_report(self, info: dict) -> None:
            seen.append(info)

    with tempfile.TemporaryDirectory() as tmp:
        args = types.SimpleNamespace(**{**CONFIG_DEFAULTS, **{
            "model": str(model_dir), "train": True, "data": str(data), "mask_prompt": True,
            "num_layers": 3, "batch_size": 4, "iters": iters, "learning_rate": 2e-4,
            "steps_per_report": 1, "steps_per_eval": 10**6, "val_batches": 1,
            "save_every": 10**6, "adapter_path": tmp, "seed": 0, "max_seq_length": 2048,
            "lora_parameters": {"rank": 8, "scale": 20.0, "dropout": 0.0, "keys": KEYS},
            "grad_checkpoint": False,
        }})  # fmt: skip
        model, tokenizer = load(args.model)
        train_set, valid_set, _ = load_dataset(args, tokenizer)
        train_model(args, model, train_set, valid_set, Record())
    steps = seen[1:]  # step 1 compiles
    return {"s_per_step": [1 / s["iterations_per_second"] for s in steps],
            "tokens": [s["tokens_per_second"] / s["iterations_per_second"] for s in steps]}  # fmt: skip


def child(way: str, model_dir: Path, data: Path, iters: int) -> None:
    from personal.engine.blas import blas_in_use

    if way == "mlx_lm.lora":
        result = run_mlx_lm(model_dir, data, iters)
    else:
        result = run_personal(model_dir, data, iters, fast_silu=way == "personal")
    print("RESULT " + json.dumps({**result, "blas": blas_in_use()}), flush=True)


def one(way: str, model_dir: Path, data: Path, iters: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", way, "--model-dir", str(model_dir),
         "--data", str(data), "--iters", str(iters)],
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"{way} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--iters", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2, help="turns per way (interleaved)")
    ap.add_argument("--child"), ap.add_argument("--model-dir"), ap.add_argument("--data")
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from personal.engine.blas import reexec_with_openblas

    if args.child:
        reexec_with_openblas([str(Path(__file__).resolve()), *sys.argv[1:]])
        child(args.child, Path(args.model_dir), Path(args.data), args.iters)
        return
    from personal.models import catalog
    from personal.models.convert import mlx_dir_for

    base = catalog.resolve("smollm2-135m")
    model_dir = mlx_dir_for(base.path, base.fingerprint)
    runs: dict[str, list[dict]] = {w: [] for w in WAYS}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        lines = chats(64)
        for name, part in (("train", lines[:56]), ("valid", lines[56:])):
            (data / f"{name}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in part))
        (data / "manifest.json").write_text("{}")
        for r in range(args.rounds):
            for way in WAYS:
                runs[way].append(one(way, model_dir, data, args.iters))
                print(f"round {r + 1}: {way} done", file=sys.stderr, flush=True)
    table = {}
    for way, results in runs.items():
        steps = [s for x in results for s in x["s_per_step"]]
        tokens = [n for x in results for n in x["tokens"]]
        table[way] = {"s_per_step": statistics.median(steps),
                      "answer_tok_s": sum(tokens) / sum(steps), "blas": results[0]["blas"]}  # fmt: skip
    ref = table["mlx_lm.lora"]
    print(f"{'way':<22}{'s/step':>8}{'answer tok/s':>14}{'÷ mlx_lm.lora':>15}  BLAS")
    for way, t in table.items():
        print(f"{way:<22}{t['s_per_step']:>8.3f}{t['answer_tok_s']:>14.1f}"
              f"{t['answer_tok_s'] / ref['answer_tok_s']:>14.2f}×  {t['blas']}")  # fmt: skip
    print(json.dumps({"iters": args.iters, "rounds": args.rounds, **table}))


if __name__ == "__main__":
    main()
