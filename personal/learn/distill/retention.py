"""The shipped everyday prompts, their fixed held-out partition, and the retention set.

Every prompt in data/prompts.txt falls, by a hash of its text, into one of three parts
that never change between runs: most are for training (context distillation of the
preferences), one share is held out for measuring adherence, one for retention. Because
the partition does not depend on the seed or the log, no revision ever trained on a prompt
that a later gate uses to judge it.

Retention examples are the bare base model's own greedy answers (default system prompt,
tools offered as in the chat) to the retention prompts. They go to the test split only:
the gate bounds how far an adapter's cross-entropy on them may rise above the base's. They
are not trained on, because when a preference applies to every answer (a sign-off, the
person's name) the base's own answers break it, and training on them would teach the
adapter to ignore the preference; the preference examples are themselves the base's
answers with the preference applied, so they already anchor the adapter to the base.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from personal.engine.base import Engine, GenerationParams
from personal.learn.cache import GenerationCache, generate
from personal.learn.dataset import example
from personal.learn.distill.repair import trim_truncated
from personal.learn.objectives import part_of

DATA = Path(__file__).parents[1] / "data"
PARTS = ("train", "test", "retention")  # of every 8 prompts (by hash): 1, 1 and 6


def load_prompts(path: Path | None = None) -> list[str]:
    lines = (path or DATA / "prompts.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def partition(prompts: list[str]) -> dict[str, list[str]]:
    """The prompts of each part, in file order."""
    out: dict[str, list[str]] = {p: [] for p in PARTS}
    for prompt in prompts:
        out[part_of(prompt)].append(prompt)
    return out


def retention_examples(
    engine: Engine, prompts: list[str], *, system_prompt: str | None,
    tools: list[dict[str, Any]] | None, max_tokens: int, cache: GenerationCache | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The base's greedy answers to `prompts` as test examples of kind "retention". An
    answer that calls a tool, is empty, or is cut off mid-sentence with no complete
    sentence is skipped."""
    out = []
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    params = GenerationParams(max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.1)
    convs = [[*system, {"role": "user", "content": prompt}] for prompt in prompts]
    answers = generate(engine, cache, convs, params, tools, adapter=None)
    for prompt, messages, result in zip(prompts, convs, answers, strict=True):
        if result.tool_calls or result.tool_errors:
            continue
        text: str | None = result.text.strip()
        if text and result.usage.finish_reason == "length":
            text = trim_truncated(text)
        if text:
            target = {"role": "assistant", "content": text}
            out.append(example([*messages, target], "retention", tools=tools,
                               meta={"split": "test", "prompt": prompt}))  # fmt: skip
    return out
