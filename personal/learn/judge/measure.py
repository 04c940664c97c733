"""Measuring one configuration of the model on held-out data, for the gate.

A configuration is an adapter (or none) and a system prompt (the default one, or the
default with the person's preferences in it). For it the gate measures, on prompts no
revision trained on:
- adherence: per objective (learn/objectives.py), k of n held-out answers that pass its
  checker — generated greedily, many at a time (`Engine.chat_many`), with the chat's tools
  offered as in the chat;
- retention: the share of general questions (data/retention_qa.json, another template
  than the training prompts) answered correctly;
- tool habits: held-out tool requests where the model starts the expected call, and
  ordinary prompts where it calls a tool at all;
- cross-entropy of the dataset's held-out answers (teacher-forced, as trained) and of the
  bare base's own answers (retention_ce), for adapter-only configurations.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from personal.adapters.manifest import Metrics
from personal.engine.base import AdapterRef, GenerationParams
from personal.engine.llama import ContextOverflow, LlamaEngine
from personal.learn.cache import GenerationCache, generate
from personal.learn.dataset import Dataset
from personal.learn.examples import render_example
from personal.learn.objectives import (
    Objective,
    answered,
    held_out,
    retention_questions,
)
from personal.prefs.check import check

CE_KINDS = ("answer", "preference", "fact")
TOOL_PROBE_TOKENS = 24  # a habit starts the call at once; prose before it is not waited for
_NAME = re.compile(r'"name"\s*:\s*"([^"]+)"')


@dataclass(frozen=True)
class Config:
    label: str  # "none", "prompt", "candidate", "candidate+prompt", "current"
    adapter: AdapterRef | None
    system: str | None  # the system prompt adherence is measured with
    # also measure what depends on the adapter alone (under the default system prompt):
    # retention, tool habits, false calls and cross-entropy
    extras: bool = True


@dataclass
class Measured:
    """Raw counts behind a configuration's Metrics (k of n per objective)."""

    complied: dict[str, int] = field(default_factory=dict)
    asked: dict[str, int] = field(default_factory=dict)


def measure(
    engine: LlamaEngine, config: Config, objectives: list[Objective], dataset: Dataset, *,
    tools: list[dict[str, Any]] | None, answer_tokens: int, default_system: str | None,
    cache: GenerationCache | None = None,
) -> Metrics:  # fmt: skip
    """Metrics for one configuration (see the module docstring)."""
    start = time.perf_counter()
    system = [{"role": "system", "content": config.system}] if config.system else []
    greedy = GenerationParams(max_tokens=answer_tokens, temperature=0.0, repeat_penalty=1.1)
    prompts = sorted({p for o in objectives for p in held_out(o)})
    convs = [[*system, {"role": "user", "content": p}] for p in prompts]
    answers = dict(zip(prompts, generate(engine, cache, convs, greedy, tools,
                                         adapter=config.adapter), strict=True))  # fmt: skip
    m: dict[str, Any] = {"adherence": {}, "support": {}}
    for o in objectives:
        results = [answers[p] for p in held_out(o) if answers[p].usage.finish_reason != "overflow"]
        ok = sum(check(o.checker, r.text.strip()) and not r.tool_calls for r in results)
        m["adherence"][o.id] = round(ok / len(results), 4) if results else 0.0
        m["support"][o.id] = len(results)
    if config.extras:
        if config.system == default_system:  # the everyday answers above are adapter-only
            everyday = [r for p, r in answers.items() if any(
                o.scope == "answers" and p in held_out(o) for o in objectives)]  # fmt: skip
            if everyday:
                m["false_call_rate"] = round(sum(bool(r.tool_calls or r.tool_errors)
                                                 for r in everyday) / len(everyday), 4)  # fmt: skip
        m["retention_accuracy"] = retention(engine, config, default_system, answer_tokens,
                                            tools, cache)  # fmt: skip
        m["counts"] = {"retention_questions": len(retention_questions())}
        m.update(_tool_habit(engine, config, dataset, tools, cache))
        m.update(_cross_entropy(engine, config, dataset, cache))
    m["seconds"] = round(time.perf_counter() - start, 2)
    return Metrics(**m)


def retention(engine: LlamaEngine, config: Config, default_system: str | None,
              answer_tokens: int, tools: list[dict[str, Any]] | None,
              cache: GenerationCache | None) -> float:  # fmt: skip
    """The share of general questions `config`'s adapter answers right, under the default
    system prompt."""
    qa = retention_questions()
    system = [{"role": "system", "content": default_system}] if default_system else []
    params = GenerationParams(max_tokens=answer_tokens, temperature=0.0, repeat_penalty=1.1)
    convs = [[*system, {"role": "user", "content": q}] for q, _ in qa]
    # an answer is right once it names an accepted answer: no need to generate the rest
    results = generate(engine, cache, convs, params, tools, adapter=config.adapter,
                       until=[tuple(accepted) for _, accepted in qa])  # fmt: skip
    right = sum(answered(r.text, accepted) for r, (_, accepted) in zip(results, qa, strict=True))
    return round(right / len(qa), 4)


def _tool_habit(engine: LlamaEngine, config: Config, dataset: Dataset,
                tools: list[dict[str, Any]] | None,
                cache: GenerationCache | None) -> dict[str, Any]:  # fmt: skip
    requests = [ex for ex in dataset.examples("test")
                if ex["kind"] == "tool" and ex["meta"].get("stage") == "call"]  # fmt: skip
    if not requests:
        return {}
    probe = GenerationParams(max_tokens=TOOL_PROBE_TOKENS, temperature=0.0, repeat_penalty=1.1)
    by_tools: dict[str, list[int]] = {}  # requests offered the same tools go in one batch
    for i, ex in enumerate(requests):
        by_tools.setdefault(json.dumps(ex.get("tools"), sort_keys=True), []).append(i)
    results: list[Any] = [None] * len(requests)
    for group in by_tools.values():
        done = generate(engine, cache, [requests[i]["messages"][:-1] for i in group], probe,
                        requests[group[0]].get("tools"), adapter=config.adapter)  # fmt: skip
        for i, r in zip(group, done, strict=True):
            results[i] = r
    hits = sum(_called(r) == ex["meta"].get("expected_tool")
               for r, ex in zip(results, requests, strict=True))  # fmt: skip
    return {"tool_rate": round(hits / len(requests), 4)}


def _called(result: Any) -> str | None:
    if result.tool_calls:
        return result.tool_calls[0].name
    m = _NAME.search(result.raw or "")  # a call cut off by the probe's length
    return m.group(1) if m else None


def _cross_entropy(engine: LlamaEngine, config: Config, dataset: Dataset,
                   cache: GenerationCache | None = None) -> dict[str, Any]:  # fmt: skip
    test = dataset.examples("test")
    scored = [ex for ex in test if ex["kind"] in (*CE_KINDS, "tool")]
    retention = [ex for ex in test if ex["kind"] == "retention"]
    previous = engine.adapter
    try:
        if config.adapter is None:
            engine.detach_adapter()
        else:
            engine.attach_adapter(config.adapter)
        by_kind: dict[str, list[float]] = {}
        retained: list[float] = []
        for ex in scored + retention:
            prompt, completion = render_example(engine.format, ex)
            try:
                logprobs = (engine.score(prompt, completion) if cache is None
                            else cache.score(engine, prompt, completion))  # fmt: skip
                ce = [-lp for lp in logprobs]
            except ContextOverflow:
                continue
            if not ce:
                continue
            if ex["kind"] == "retention":
                retained.append(statistics.median(ce))
            else:
                by_kind.setdefault(ex["kind"], []).append(statistics.fmean(ce))
    finally:
        if previous is None:
            engine.detach_adapter()
        else:
            engine.attach_adapter(previous)
    main = [x for k in CE_KINDS for x in by_kind.get(k, [])]
    return {
        "ce_by_kind": {k: round(statistics.median(v), 4) for k, v in sorted(by_kind.items())},
        "ce": round(statistics.median(main), 4) if main else None,
        "retention_ce": round(statistics.fmean(retained), 4) if retained else None,
    }
