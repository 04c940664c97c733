"""Hot-swap cost against a cold load of the base, and decode speed with an adapter.

In one run, on the same GGUF and threads:
  - cold load of the base model (a fresh llama.cpp model + context), median of N;
  - swap = load + activate a GGUF-LoRA adapter that is not loaded yet;
  - activate an adapter that is already resident (switching back);
  - decode tokens/s with the adapter attached ÷ without (interleaved rounds).
Targets: swap ≤ 1/100 of a cold load, activation ≤ 1/1000, decode ratio ≥ 0.95.

    .venv/bin/python benchmarks/swap_latency.py [--model smollm2-135m] [--rank 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from personal.engine import AdapterRef, GenerationParams  # noqa: E402
from personal.engine.llama import LlamaEngine  # noqa: E402
from personal.learn.config import TrainConfig  # noqa: E402
from personal.models import catalog  # noqa: E402
from tests.lora_gguf import ALL, write_random_lora  # noqa: E402

QV = ("attn_q", "attn_v")

PROMPT = [{"role": "user", "content": "Write a long, detailed story about a lighthouse keeper."}]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.3f} ms"


def decode_rate(engine: LlamaEngine, n: int) -> float:
    engine.reset()
    stream = engine.chat(PROMPT, GenerationParams(temperature=0, max_tokens=n))
    first = last = None
    for _ in stream:
        last = time.perf_counter()
        first = first or last
    return (stream.result.usage.completion_tokens - 1) / (last - first)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--layers", type=int, default=TrainConfig.layers)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--projections", choices=["all", "qv"], default="all",
                    help="adapt all 7 projections, or attn_q + attn_v only")
    ap.add_argument("--cold", action="store_true",
                    help="drop the page cache before each base load (needs root)")
    args = ap.parse_args()
    base = catalog.resolve(args.model)
    _ = base.fingerprint  # hash once, outside the timings

    cold = []
    for _ in range(args.rounds):
        if args.cold:
            os.sync()
            Path("/proc/sys/vm/drop_caches").write_text("3\n")
        t = time.perf_counter()
        LlamaEngine(base, n_ctx=1024, n_threads=args.threads).close()
        cold.append(time.perf_counter() - t)

    engine = LlamaEngine(base, n_ctx=1024, n_threads=args.threads)
    tmp = Path(tempfile.mkdtemp())
    adapters = [write_random_lora(base.path, tmp / f"a{i}.gguf", rank=args.rank, std=0.02,
                                  layers=args.layers, seed=i,
                                  projections=ALL if args.projections == "all" else QV)
                for i in range(args.rounds + 1)]  # fmt: skip
    size = adapters[0].stat().st_size
    swap, activate = [], []
    for i in range(args.rounds):  # a new adapter each time: load + activate
        t = time.perf_counter()
        engine.attach_adapter(AdapterRef(f"a{i}", adapters[i]))
        swap.append(time.perf_counter() - t)
    resident = [AdapterRef("x", adapters[-1]), AdapterRef("y", adapters[-2])]
    engine.attach_adapter(resident[0])
    for i in range(args.rounds):  # both resident: activation only
        t = time.perf_counter()
        engine.attach_adapter(resident[i % 2])
        activate.append(time.perf_counter() - t)

    with_adapter, without = [], []
    engine.attach_adapter(resident[0])
    decode_rate(engine, args.tokens)  # warm-up
    for _ in range(args.rounds):
        engine.attach_adapter(resident[0])
        with_adapter.append(decode_rate(engine, args.tokens))
        engine.detach_adapter()
        without.append(decode_rate(engine, args.tokens))
    engine.close()

    c, s, a = statistics.median(cold), statistics.median(swap), statistics.median(activate)
    ratio = statistics.median(x / y for x, y in zip(with_adapter, without, strict=True))
    print(f"model                {base.name}, threads={args.threads}, {args.rounds} rounds (medians)")
    print(f"adapter              rank {args.rank}, {args.projections} projections, last {args.layers} layers, "
          f"{size / 1e6:.1f} MB GGUF")  # fmt: skip
    print(f"load of base ({'cold' if args.cold else 'page cache warm'}) {ms(c)}")
    print(f"swap (load+activate) {ms(s)}   ratio {s / c:.4f}  (target <= 0.01)")
    print(f"activate (resident)  {ms(a)}   ratio {a / c:.5f} (target <= 0.001)")
    print(f"decode with adapter  {statistics.median(with_adapter):7.1f} tok/s")
    print(f"decode without       {statistics.median(without):7.1f} tok/s")
    print(f"decode ratio         {ratio:.3f}  (target >= 0.95)")


if __name__ == "__main__":
    main()
