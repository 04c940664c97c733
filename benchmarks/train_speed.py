"""LoRA training speed on the embedded default, against what the BLAS can do.

One process, set up as the training worker is (OpenBLAS preloaded by re-exec where the
machine has it), measures:

1. fp32 matmul GFLOP/s in MLX at the model's own shapes (x @ Wᵀ with the batch's token
   count), plus the classic 1024² figure;
2. LoRA training tokens/s on SmolLM2 with the default TrainConfig on a small synthetic
   dataset (steady state: the first step is excluded);
3. the ratio  achieved FLOP/s ÷ measured FLOP/s  (target ≥ 0.5), and peak RSS.

FLOPs of a training step (frozen base, LoRA on the top k of n blocks, prompt masked):
  per input token:   2·P_block·n          forward through every block's projections
                   + 2·P_block·k          backward: activation gradients only, and only
                                          down to the lowest adapted block; frozen
                                          weights need no weight gradients (so not 6·N)
                   + 4·h·L·n + 8·h·L·k    attention scores/values (h = heads × head_dim,
                                          L = padded length; MLX computes the full L×L)
                   + 6·r·Σ(in+out)·k      LoRA: forward, activation and A/B gradients
  per target token:  4·d·V                LM head forward + activation gradient (the head
                                          runs on answer positions only)
The ratio divides the FLOPs done per second by the FLOP/s the same matmul shapes reach
alone, so 1.0 means "as fast as the BLAS allows"; what is lost is padding, attention,
element-wise ops and Python.

    .venv/bin/python benchmarks/train_speed.py [--iters 12] [--layers N] [--no-openblas]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

TEXT = (
    "the river runs past old stone houses while people walk their dogs and talk about "
    "weather music books gardens trains coffee mountains history and small daily plans"
)
WORDS = TEXT.split()


def synthetic(n: int) -> list[dict]:
    """Short chats (~30-token question, ~60-token answer), varied by a fixed pattern."""
    out = []
    for i in range(n):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(60)]
        question = f"Question {i}: tell me about " + " ".join(words[:12]) + "?"
        answer = " ".join(words[12:]).capitalize() + "."
        out.append({"messages": [{"role": "user", "content": question},
                                 {"role": "assistant", "content": answer}], "weight": 1.0})  # fmt: skip
    return out


def gflops(mx, m: int, k: int, n: int, repeat: int = 10) -> float:
    """fp32 GFLOP/s of x (m, k) @ w.T with w (n, k): what nn.Linear runs."""
    x, w = mx.random.normal((m, k)), mx.random.normal((n, k))
    mx.eval(x, w)
    for _ in range(2):
        mx.eval(x @ w.T)
    start = time.perf_counter()
    for _ in range(repeat):
        mx.eval(x @ w.T)
    return 2 * m * k * n * repeat / (time.perf_counter() - start) / 1e9


def shapes_for(c: dict, k: int, tokens: int, targets: int) -> dict[str, tuple]:
    """The step's matmuls: name → ((m, k, n), products per step, forward + backward); the
    backward's transposed products have the same sizes."""
    d, ff, V, n = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    q, kv = c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    return {
        "q/o proj": ((tokens, d, q), 2 * (n + k)), "k/v proj": ((tokens, d, kv), 2 * (n + k)),
        "gate/up": ((tokens, d, ff), 2 * (n + k)), "down": ((tokens, ff, d), n + k),
        "lm head": ((targets, d, V), 2),
    }  # fmt: skip


def flops_per_token(c: dict, k: int, r: int, length: float) -> tuple[float, float]:
    """(FLOPs per input token, extra FLOPs per answer token), as the docstring derives."""
    d, ff, V, n = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    q, kv = c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    p_block = 2 * d * q + 2 * d * kv + 3 * d * ff
    lora_io = 4 * d + 2 * q + 2 * kv + 3 * (d + ff)  # Σ (in + out) over the 7 projections
    attention = 4 * q * length * n + 8 * q * length * k
    return 2 * p_block * (n + k) + attention + 6 * r * k * lora_io, 4 * d * V


def measure_training(model_dir: Path, config) -> dict:
    from personal.learn.train import events
    from personal.learn.train.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        (data / "train.jsonl").write_text("".join(json.dumps(x) + "\n" for x in synthetic(32)))
        stamps: list[tuple[float, int, int]] = []

        def on_event(e: object) -> None:
            if isinstance(e, events.Step):
                stamps.append((time.perf_counter(), e.seen_tokens, e.tokens))

        report = train(model_dir, data, Path(tmp) / "run", Path(tmp) / "out", config,
                       on_event=on_event)  # fmt: skip
    (t0, s0, g0), (t1, s1, g1) = stamps[0], stamps[-1]  # steady state: step 1 excluded
    steps = len(stamps) - 1
    return {"input_tok_s": (s1 - s0) / (t1 - t0), "answer_tok_s": (g1 - g0) / (t1 - t0),
            "tokens": (s1 - s0) / steps, "targets": (g1 - g0) / steps,
            "s_per_step": (t1 - t0) / steps, "report": report}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--iters", type=int, default=12, help="training steps (0: matmuls only)")
    ap.add_argument("--no-openblas", action="store_true", help="keep the wheel's reference BLAS")
    ap.add_argument("--layers", type=int, help="adapt the last N blocks (default: TrainConfig's)")
    args = ap.parse_args()
    from personal.engine.blas import blas_in_use, reexec_with_openblas

    if not args.no_openblas:
        reexec_with_openblas([str(Path(__file__).resolve()), *sys.argv[1:]])
    import mlx.core as mx

    from personal.learn.config import TrainConfig
    from personal.learn.train.trainer import peak_rss_mb
    from personal.models import catalog
    from personal.models.convert import mlx_dir_for

    print(f"BLAS: {blas_in_use()}")
    base = catalog.resolve(args.model)
    model_dir = mlx_dir_for(base.path, base.fingerprint)
    c = json.loads((model_dir / "config.json").read_text())
    config = TrainConfig(iters=max(args.iters, 2), val_every=0, save_every=max(args.iters, 2),
                         layers=args.layers or TrainConfig.layers)  # fmt: skip
    k = min(config.layers, c["num_hidden_layers"])
    print(f"matmul fp32 1024²: {gflops(mx, 1024, 1024, 1024):.1f} GFLOP/s")
    # The step's shapes depend on its token counts: measure those after training, in the
    # same process (a short default when only matmuls are asked for).
    run = measure_training(model_dir, config) if args.iters else None
    tokens, targets = (int(run["tokens"]), int(run["targets"])) if run else (400, 200)
    shapes = shapes_for(c, k, tokens, targets)
    rates = {name: gflops(mx, *mkn) for name, (mkn, _) in shapes.items()}
    flops = {name: 2 * m * kk * nn * count for name, ((m, kk, nn), count) in shapes.items()}
    mix = sum(flops.values()) / sum(flops[s] / rates[s] for s in flops)  # time-weighted
    for name, rate in rates.items():
        (m, kk, nn), _ = shapes[name]
        print(f"matmul fp32 {name:9} ({m}×{kk} @ {kk}×{nn}): {rate:6.1f} GFLOP/s")
    print(f"matmul mix at the step's shapes: {mix:.1f} GFLOP/s")
    if run is not None:
        length = run["tokens"] / config.batch_size
        per_token, per_answer = flops_per_token(c, k, config.rank, length)
        achieved = (run["input_tok_s"] * per_token + run["answer_tok_s"] * per_answer) / 1e9
        n_params = 2 * c["hidden_size"] * (c["num_attention_heads"] + c["num_key_value_heads"]) * c["head_dim"] + 3 * c["hidden_size"] * c["intermediate_size"]  # fmt: skip
        full = 6 * (n_params * c["num_hidden_layers"] + c["hidden_size"] * c["vocab_size"])
        print(f"training ({args.model}, rank {config.rank}, {k}/{c['num_hidden_layers']} layers, "
              f"batch {config.batch_size}, ~{length:.0f} tokens/example): "
              f"{run['s_per_step']:.2f} s/step, {run['input_tok_s']:.1f} input tok/s, "
              f"{run['answer_tok_s']:.1f} trained (answer) tok/s")  # fmt: skip
        print(f"FLOPs per input token: {per_token / 1e6:.0f} M (+{per_answer / 1e6:.0f} M per "
              f"answer token for the head); 6·N would say {full / 1e6:.0f} M")  # fmt: skip
        print(f"achieved {achieved:.1f} GFLOP/s → ratio {achieved / mix:.2f} (target ≥ 0.5)")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
