"""Decode tokens/s through personal's engine vs a raw llama-cpp-python loop.

Same GGUF, same threads, same greedy sampler and prompt, both with a fresh KV cache each
run, runs interleaved (engine, raw, engine, raw, ...) so background load hits both alike.
Prints the median decode rate of each and the ratio engine / raw (target >= 0.97).

    .venv/bin/python benchmarks/decode_speed.py [--model smollm2-135m] [--tokens 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from personal.engine import GenerationParams  # noqa: E402
from personal.engine.llama import LlamaEngine, import_llama_cpp  # noqa: E402
from personal.models import catalog  # noqa: E402

PROMPT = [{"role": "user", "content": "Write a long, detailed story about a lighthouse keeper."}]
SAMPLER = dict(temperature=0.0, top_k=40, top_p=0.95, repeat_penalty=1.1)


def engine_run(engine: LlamaEngine, n: int) -> tuple[float, int]:
    engine.reset()
    stream = engine.chat(PROMPT, GenerationParams(max_tokens=n, **SAMPLER))
    first = last = None
    for _ in stream:
        last = time.perf_counter()
        first = first or last
    tokens = stream.result.usage.completion_tokens
    return (tokens - 1) / (last - first), tokens


def raw_run(llm, tokens: list[int], n: int) -> float:
    llm.reset()
    first = last = None
    produced = 0
    for token in llm.generate(tokens, temp=0.0, top_k=40, top_p=0.95, repeat_penalty=1.1):
        llm.detokenize([token])  # a real loop turns tokens into text
        last = time.perf_counter()
        first = first or last
        produced += 1
        if produced >= n:
            break
    return (produced - 1) / (last - first)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()

    model = catalog.resolve(args.model)
    engine = LlamaEngine(model, n_ctx=1024, n_threads=args.threads)
    llm = import_llama_cpp().Llama(
        model_path=str(model.path), n_ctx=1024, n_threads=args.threads,
        n_threads_batch=args.threads, verbose=False,
    )  # fmt: skip
    prompt_tokens = engine.prompt_tokens(PROMPT)
    _, n = engine_run(engine, args.tokens)  # warm-up; fixes the token count for both
    raw_run(llm, prompt_tokens, n)
    ours, raw = [], []
    for _ in range(args.rounds):
        ours.append(engine_run(engine, args.tokens)[0])
        raw.append(raw_run(llm, prompt_tokens, n))
    o, r = statistics.median(ours), statistics.median(raw)
    paired = statistics.median(a / b for a, b in zip(ours, raw, strict=True))
    print(f"model            {model.name} ({model.path.name}), threads={args.threads}")
    print(f"decode tokens    {n} per run, {args.rounds} interleaved rounds, greedy")
    print(f"personal engine  {o:7.1f} tok/s  (runs: {', '.join(f'{x:.1f}' for x in ours)})")
    print(f"raw llama-cpp    {r:7.1f} tok/s  (runs: {', '.join(f'{x:.1f}' for x in raw)})")
    print(f"ratio            {paired:.3f}  median of per-round ratios (target >= 0.97)")
    engine.close()
    llm.close()


if __name__ == "__main__":
    main()
