"""The learning loop's generations, side by side: one at a time, static batches, continuous.

The gate and the teacher ask the base many short questions under one system prompt with
its tool block. Measured in one run on the embedded default (greedy, 128 tokens at most,
the chat's default system prompt, two tools offered):

- `one at a time`: `Engine.chat` per question (what the loop did before batching);
- `static batches of 16`: `Engine.chat_many` on slices of 16 — a slice ends when its
  longest answer ends (what chat_many did before continuous batching);
- `continuous`: `Engine.chat_many` on all — an ended answer's slot takes the next prompt;
- `continuous + until` (the retention set only): each answer ends once it names an
  accepted answer, as the gate asks.

Two sets: the gate's 64 retention questions and 48 shipped everyday prompts. Printed per
way: seconds, answer tokens, tokens/s and the speed-up over one at a time.

    .venv/bin/python benchmarks/batch_generation.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from personal.chat.session import DEFAULT_SYSTEM_PROMPT  # noqa: E402
from personal.engine.base import GenerationParams  # noqa: E402
from personal.engine.llama import BATCH_SEQS, LlamaEngine  # noqa: E402
from personal.learn.distill.retention import load_prompts  # noqa: E402
from personal.learn.objectives import answered, retention_questions  # noqa: E402
from personal.models import catalog  # noqa: E402

GREEDY = GenerationParams(max_tokens=128, temperature=0.0, repeat_penalty=1.1)
TOOLS = [
    {"type": "function", "function": {
        "name": "calc", "description": "Evaluate an arithmetic expression exactly.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                       "required": ["expression"]}}},
    {"type": "function", "function": {
        "name": "recall", "description": "Look up what the person told you before.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                       "required": ["query"]}}},
]  # fmt: skip


def ways(engine: LlamaEngine, convs: list, until: list | None) -> dict[str, tuple[float, list]]:
    out = {}
    start = time.perf_counter()
    alone = [engine.chat(c, GREEDY, TOOLS).complete() for c in convs]
    out["one at a time"] = (time.perf_counter() - start, alone)
    start = time.perf_counter()
    static = [r for i in range(0, len(convs), BATCH_SEQS)
              for r in engine.chat_many(convs[i : i + BATCH_SEQS], GREEDY, TOOLS)]  # fmt: skip
    out[f"static batches of {BATCH_SEQS}"] = (time.perf_counter() - start, static)
    start = time.perf_counter()
    continuous = engine.chat_many(convs, GREEDY, TOOLS)
    out["continuous"] = (time.perf_counter() - start, continuous)
    if until:
        start = time.perf_counter()
        early = engine.chat_many(convs, GREEDY, TOOLS, until=until)
        out["continuous + until"] = (time.perf_counter() - start, early)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    system = {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    qa = retention_questions()
    sets = {
        f"retention ({len(qa)})": ([[system, {"role": "user", "content": q}] for q, _ in qa],
                           [tuple(a) for _, a in qa]),
        "everyday (48)": ([[system, {"role": "user", "content": p}]
                           for p in load_prompts()[:48]], None),
    }  # fmt: skip
    with LlamaEngine(catalog.resolve(None), n_ctx=2048) as engine:
        for name, (convs, until) in sets.items():
            runs: dict[str, list[tuple[float, int]]] = {}
            right: dict[str, int] = {}
            for _ in range(args.rounds):
                for way, (seconds, results) in ways(engine, convs, until).items():
                    tokens = sum(r.usage.completion_tokens for r in results)
                    runs.setdefault(way, []).append((seconds, tokens))
                    if until:
                        right[way] = sum(answered(r.text, a) for r, a in zip(results, until, strict=True))
            print(f"\n{name}: median of {args.rounds} rounds")
            base = statistics.median(s for s, _ in runs["one at a time"])
            for way, figures in runs.items():
                seconds = statistics.median(s for s, _ in figures)
                tokens = figures[-1][1]
                extra = f"  right {right[way]}/{len(convs)}" if until else ""
                print(f"  {way:24s} {seconds:6.1f} s  {tokens:5d} tokens  "
                      f"{tokens / seconds:6.1f} tok/s  {base / seconds:5.2f}×{extra}")


if __name__ == "__main__":
    main()
