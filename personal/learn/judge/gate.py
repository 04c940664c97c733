"""The evaluation gate: measure adapters on a dataset's held-out test split, then decide.

    metrics = evaluate(base, dataset, engine, {"none": None, "candidate": path, ...})
    decision = verdict(metrics["candidate"], metrics.get("current"), metrics["none"], GateBounds())

Every adapter is measured on ONE llama.cpp engine, hot-swapped (attach/detach, no reload),
on the same examples, scored exactly as they are trained (`render_example`):
- ce: median over held-out answer and preference examples of the mean per-token
  cross-entropy of the target (teacher-forced; nats). Improving it is an objective.
- retention_ce: mean over retention examples (the bare base's own answers) of the MEDIAN
  per-token cross-entropy. The median ignores the few tokens a global preference changes
  on purpose (a sign-off, the name) and still rises when the model is damaged. Bounded
  against the bare base, not the current revision, so drift cannot add up over revisions.
- adherence: per checkable preference, the share of held-out prompts whose greedy answer
  (default system prompt, no profile, tools offered as in the chat) complies.
- tool_rate: held-out tool requests where the model starts a call to the expected tool;
  false_call_rate: held-out ordinary prompts where it starts a call at all.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from personal.adapters.manifest import Metrics
from personal.engine.base import AdapterRef, GenerationParams
from personal.engine.llama import ContextOverflow, LlamaEngine
from personal.errors import TrainingError
from personal.learn.config import documented
from personal.learn.dataset import Dataset
from personal.learn.examples import render_example
from personal.models.catalog import BaseModel
from personal.prefs.check import check

CE_KINDS = ("answer", "preference")
TOOL_PROBE_TOKENS = 16  # a habit starts the call at once; prose before it is not waited for


@dataclass(frozen=True)
class GateBounds:
    ce_margin: float = documented(0.02, "An objective improvement: held-out cross-entropy falls by "
                             "more than this (nats per token).")
    adherence_margin: float = documented(0.10, "An objective improvement: a preference's adherence "
                                    "rises by at least this share (and by 2 prompts or more).")
    tool_margin: float = documented(0.10, "An objective improvement: the tool-habit rate rises by "
                               "at least this share (and by 2 requests or more).")
    max_ce_rise: float = documented(0.05, "Reject if held-out cross-entropy rises by more than this "
                               "over the reference (current revision, else the bare base).")
    max_adherence_drop: float = documented(0.15, "Reject if any preference's adherence falls by "
                                      "more than this share below the reference.")
    max_tool_drop: float = documented(0.15, "Reject if the tool-habit rate falls by more than this.")
    max_false_call_rise: float = documented(0.10, "Reject if tools are called on ordinary prompts "
                                       "this much more often than by the reference.")
    max_retention_rise: float = documented(0.25, "Reject if retention cross-entropy (the bare "
                                      "base's own answers) rises by more than this over the "
                                      "bare base (nats per token).")


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reasons: list[str]


# --- measuring ----------------------------------------------------------------------------
def evaluate(
    base: BaseModel, dataset: Dataset, engine: LlamaEngine, adapters: dict[str, Path | None],
    *, max_tokens: int | None = None, limit: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Metrics]:  # fmt: skip
    """Metrics per label; None is the bare base. `limit` caps the examples per metric
    (for quick checks). The engine's own adapter is put back afterwards."""
    fingerprint = dataset.manifest.get("base", {}).get("fingerprint")
    if fingerprint not in (None, base.fingerprint) or engine.info.fingerprint != base.fingerprint:
        raise TrainingError("the dataset, the engine and the base model do not belong together",
                            hint="evaluate with the base model the dataset was built for")  # fmt: skip
    test = dataset.examples("test")
    pick = (lambda xs: xs[:limit]) if limit is not None else (lambda xs: xs)
    scored = pick([ex for ex in test if ex["kind"] in (*CE_KINDS, "tool")])
    retention = pick([ex for ex in test if ex["kind"] == "retention"])
    asked = pick([ex for ex in test if ex["kind"] == "preference"])
    requests = pick([ex for ex in test if ex["kind"] == "tool"
                     and ex["meta"].get("stage") == "call"])  # fmt: skip
    checks = [(p["text"], p["checker"]) for p in dataset.manifest.get("preferences", [])
              if p.get("checker")]  # fmt: skip
    teacher_tokens = dataset.manifest.get("config", {}).get("teacher_max_tokens", 96)
    answer_tokens = max_tokens or teacher_tokens + 32  # room for the targets' length
    texts = [render_example(engine.format, ex) for ex in scored + retention]
    previous = engine.adapter
    out: dict[str, Metrics] = {}
    try:
        for label, path in adapters.items():
            if progress:
                progress(label)
            start = time.perf_counter()
            if path is None:
                engine.detach_adapter()
            else:
                engine.attach_adapter(AdapterRef(f"gate:{label}", Path(path)))
            m = _measure(engine, scored, retention, texts, asked, requests, checks, answer_tokens)
            out[label] = replace(m, seconds=round(time.perf_counter() - start, 2))
    finally:
        if previous is None:
            engine.detach_adapter()
        else:
            engine.attach_adapter(previous)
    return out


def _measure(
    engine: LlamaEngine, scored: list[dict], retention: list[dict],
    texts: list[tuple[str, str]], asked: list[dict], requests: list[dict],
    checks: list[tuple[str, dict]], answer_tokens: int,
) -> Metrics:  # fmt: skip
    m: dict[str, Any] = {}
    by_kind: dict[str, list[float]] = {}
    retained: list[float] = []
    for ex, (prompt, completion) in zip(scored + retention, texts, strict=True):
        try:
            ce = [-lp for lp in engine.score(prompt, completion)]
        except ContextOverflow:
            continue
        if not ce:
            continue
        if ex["kind"] == "retention":
            retained.append(statistics.median(ce))
        else:
            by_kind.setdefault(ex["kind"], []).append(statistics.fmean(ce))
    m["ce_by_kind"] = {k: round(statistics.median(v), 4) for k, v in sorted(by_kind.items())}
    main = [x for k in CE_KINDS for x in by_kind.get(k, [])]
    m["ce"] = round(statistics.median(main), 4) if main else None
    m["retention_ce"] = round(statistics.fmean(retained), 4) if retained else None
    m["counts"] = {"ce": len(main), "retention": len(retained), "adherence": len(asked),
                   "tool_requests": len(requests)}  # fmt: skip

    greedy = GenerationParams(max_tokens=answer_tokens, temperature=0.0, repeat_penalty=1.1)
    complied = dict.fromkeys((name for name, _ in checks), 0)
    false_calls = 0
    for ex in asked:
        result = engine.chat(ex["messages"][:-1], greedy, tools=ex.get("tools")).complete()
        false_calls += bool(result.tool_calls or result.tool_errors)
        for name, checker in checks:
            complied[name] += check(checker, result.text.strip())
    if asked:
        m["adherence"] = {name: round(n / len(asked), 4) for name, n in complied.items()}
        m["false_call_rate"] = round(false_calls / len(asked), 4)

    probe = GenerationParams(max_tokens=TOOL_PROBE_TOKENS, temperature=0.0, repeat_penalty=1.1)
    hits = 0
    for ex in requests:
        result = engine.chat(ex["messages"][:-1], probe, tools=ex.get("tools")).complete()
        hits += any(c.name == ex["meta"].get("expected_tool") for c in result.tool_calls[:1])
    if requests:
        m["tool_rate"] = round(hits / len(requests), 4)
    return Metrics(**m)


# --- deciding -----------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def verdict(
    candidate: Metrics, current: Metrics | None, none: Metrics | None, bounds: GateBounds
) -> Verdict:
    """Promote only if the candidate beats the reference (the current revision, else the
    bare base) on at least one objective beyond its noise margin and no metric regresses
    past its bound. Reasons are short sentences for the person."""
    ref = current if current is not None else none
    if ref is None:
        raise ValueError("verdict needs the current revision's or the bare base's metrics")
    ref_name = "the current revision" if current is not None else "the bare base"
    better: list[str] = []
    worse: list[str] = []
    c, r = candidate, ref
    if c.ce is not None and r.ce is not None:
        if r.ce - c.ce > bounds.ce_margin:
            better.append(f"held-out cross-entropy {r.ce:.3f} → {c.ce:.3f}")
        elif c.ce - r.ce > bounds.max_ce_rise:
            worse.append(f"held-out cross-entropy rose {r.ce:.3f} → {c.ce:.3f} "
                         f"(bound +{bounds.max_ce_rise:g})")  # fmt: skip
    n_asked = max(c.counts.get("adherence", 0), 1)
    for name, now in c.adherence.items():
        was = r.adherence.get(name)
        if was is None:
            continue
        if now - was >= max(bounds.adherence_margin, 2 / n_asked - 1e-9):
            better.append(f"adherence '{_short(name)}': {_pct(was)} → {_pct(now)}")
        elif was - now > bounds.max_adherence_drop:
            worse.append(f"adherence '{_short(name)}' fell {_pct(was)} → {_pct(now)}")
    if c.tool_rate is not None and r.tool_rate is not None:
        n_req = max(c.counts.get("tool_requests", 0), 1)
        if c.tool_rate - r.tool_rate >= max(bounds.tool_margin, 2 / n_req - 1e-9):
            better.append(f"tool habits {_pct(r.tool_rate)} → {_pct(c.tool_rate)} of requests")
        elif r.tool_rate - c.tool_rate > bounds.max_tool_drop:
            worse.append(f"tool habits fell {_pct(r.tool_rate)} → {_pct(c.tool_rate)}")
    if (c.false_call_rate is not None and r.false_call_rate is not None
            and c.false_call_rate - r.false_call_rate > bounds.max_false_call_rise):  # fmt: skip
        worse.append(f"tools called on ordinary questions {_pct(r.false_call_rate)} → "
                     f"{_pct(c.false_call_rate)}")  # fmt: skip
    if none is not None and c.retention_ce is not None and none.retention_ce is not None:
        rise = c.retention_ce - none.retention_ce
        if rise > bounds.max_retention_rise:
            worse.append(f"retention: cross-entropy on the base's own answers rose "
                         f"{none.retention_ce:.3f} → {c.retention_ce:.3f} "
                         f"(bound +{bounds.max_retention_rise:g})")  # fmt: skip
    reasons = better + worse
    if not better:
        reasons.insert(0, f"no objective improved beyond its noise margin over {ref_name}")
    return Verdict(bool(better) and not worse, reasons)


def format_metrics(metrics: dict[str, Metrics]) -> str:
    """A small table: one column per adapter label."""
    labels = list(metrics)
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, get: Callable[[Metrics], Any], fmt: Callable[[Any], str]) -> None:
        values = [get(metrics[k]) for k in labels]
        if any(v is not None for v in values):
            rows.append((name, ["-" if v is None else fmt(v) for v in values]))

    row("cross-entropy (held out)", lambda m: m.ce, lambda v: f"{v:.3f}")
    for kind in sorted({k for m in metrics.values() for k in m.ce_by_kind}):
        row(f"  {kind}", lambda m, k=kind: m.ce_by_kind.get(k), lambda v: f"{v:.3f}")
    row("retention cross-entropy", lambda m: m.retention_ce, lambda v: f"{v:.3f}")
    for name in sorted({n for m in metrics.values() for n in m.adherence}):
        row(f"adherence {_short(name, 30)}", lambda m, n=name: m.adherence.get(n), _pct)
    row("tool habits", lambda m: m.tool_rate, _pct)
    row("false tool calls", lambda m: m.false_call_rate, _pct)
    row("seconds", lambda m: m.seconds, lambda v: f"{v:.0f}")
    width = max([len(n) for n, _ in rows] + [8])
    cols = [max(len(k), 9) for k in labels]
    lines = [" " * width + "".join(f"  {k:>{w}}" for k, w in zip(labels, cols, strict=True))]
    for name, values in rows:
        lines.append(f"{name:<{width}}" + "".join(
            f"  {v:>{w}}" for v, w in zip(values, cols, strict=True)))  # fmt: skip
    return "\n".join(lines)
