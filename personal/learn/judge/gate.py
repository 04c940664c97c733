"""The evaluation gate: measure configurations of the model on held-out data, then decide.

    report = evaluate(engine, dataset, candidate=path, current=current_rev, tools=schemas)
    decision = verdict(report, GateBounds())       # promote? why? and the plan

Configurations (measure.py says what is measured in each):
- "none": the bare base, default system prompt — the reference for retention;
- "prompt": the bare base with the person's preferences in its system prompt — what the
  chat does without any revision: the *prompt baseline*;
- "candidate" / "candidate+prompt": the new adapter without / with the preferences in
  the prompt;
- "current": the current revision as the chat runs it (its learned preferences left out of
  the prompt, the rest in).

A gate that cannot be fooled by cross-entropy: no promotion while a stated preference or
fact is unmeasured (fewer than `min_support` held-out prompts), or when any objective's
adherence is significantly worse (95% interval of the difference below zero) than the
current revision's or the prompt baseline's; a withdrawn preference must be gone;
retention must stay at `min_retention` of the bare base's accuracy. Improvements count
only when significant too. The plan says, per objective, whether the chat should rely on
the adapter (learned) or keep it in the prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from personal.adapters.manifest import Metrics
from personal.engine.base import AdapterRef
from personal.engine.llama import LlamaEngine
from personal.errors import TrainingError
from personal.learn.cache import GenerationCache
from personal.learn.config import documented
from personal.learn.dataset import Dataset
from personal.learn.judge.measure import Config, measure, retention
from personal.learn.judge.stats import describe, diff
from personal.learn.objectives import Objective, from_manifest
from personal.prefs.prompting import with_preferences


@dataclass(frozen=True)
class GateBounds:
    min_support: int = documented(16, "An objective measured on fewer held-out prompts than "
                                  "this is unmeasured, and blocks promotion.")
    min_retention: float = documented(0.9, "Reject if the adapter answers fewer general "
                                      "questions correctly than this share of the bare base.")
    ce_margin: float = documented(0.02, "An objective improvement: held-out cross-entropy falls "
                                  "by more than this (nats per token).")
    max_ce_rise: float = documented(0.05, "Reject if held-out cross-entropy rises by more than "
                                    "this over the reference (current revision, else the base).")
    tool_margin: float = documented(0.10, "An objective improvement: the tool-habit rate rises "
                                    "by at least this share (and by 2 requests or more).")
    max_tool_drop: float = documented(0.15, "Reject if the tool-habit rate falls by more than "
                                      "this.")
    max_false_call_rise: float = documented(0.10, "Reject if tools are called on ordinary "
                                            "prompts this much more often than by the reference.")
    max_retention_rise: float = documented(0.25, "Reject if retention cross-entropy (the bare "
                                           "base's own answers) rises by more than this over "
                                           "the bare base (nats per token).")
    gentler_scales: tuple[float, ...] = documented(
        (0.9, 0.85), "When retention is all that holds a candidate back, the same adapter at "
        "these shares of its LoRA scale is measured, in turn, and the first that passes and "
        "keeps what the full scale learned is kept (empty: never). Small steps: a weaker "
        "adapter weakens habits too (at 0.75 one stopped calling the calculator).")


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reasons: list[str]
    plan: dict[str, str] = field(default_factory=dict)  # objective id → "adapter" | "prompt"
    # improved, and held back by the retention bound alone: a gentler scale may pass
    retention_only: bool = False


@dataclass
class Report:
    objectives: list[Objective]
    metrics: dict[str, Metrics]  # per configuration label


# --- measuring ----------------------------------------------------------------------------
def evaluate(
    engine: LlamaEngine, dataset: Dataset, *, candidate: Path | None,
    current: tuple[Path, dict[str, str]] | None = None, tools: list[dict[str, Any]] | None,
    progress: Callable[[str], None] | None = None, cache: GenerationCache | None = None,
) -> Report:  # fmt: skip
    """Measure every configuration (see the module docstring) on the dataset's objectives.
    `current` is the current revision's GGUF and plan. The engine's adapter is put back."""
    if dataset.manifest.get("base", {}).get("fingerprint") not in (None, engine.info.fingerprint):
        raise TrainingError("the dataset and the engine do not belong to the same base model",
                            hint="evaluate with the base model the dataset was built for")  # fmt: skip
    objectives = from_manifest(dataset.manifest.get("objectives", []))
    system, answer_tokens = _settings(dataset)
    profile = [p["text"] for p in dataset.manifest.get("prompted", [])]
    measured = {}

    def run(config: Config, goals: list[Objective]) -> None:
        if progress:
            progress(config.label)
        measured[config.label] = measure(engine, config, goals, dataset, tools=tools,
                                         answer_tokens=answer_tokens, default_system=system,
                                         cache=cache)  # fmt: skip

    run(Config("none", None, system), objectives)
    run(Config("prompt", None, _with(system, profile), False), objectives)
    if candidate is not None:
        ref = AdapterRef("gate:candidate", Path(candidate))
        run(Config("candidate", ref, system), objectives)
        # with the preferences in the prompt too — only where the adapter alone is not
        # already at least as good as prompting the base (there it cannot change the plan)
        behind = [o for o in objectives if o.kind != "withdrawn" and _behind(
            measured["candidate"], measured["prompt"], o.id)]  # fmt: skip
        run(Config("candidate+prompt", ref, _with(system, profile), False), behind)
    if current is not None:
        path, plan = current
        kept = [p["text"] for p in dataset.manifest.get("prompted", [])
                if plan.get(p["id"]) != "adapter"]  # fmt: skip
        run(Config("current", AdapterRef("gate:current", Path(path)), _with(system, kept)),
            objectives)  # fmt: skip
    return Report(objectives, measured)


def _settings(dataset: Dataset) -> tuple[str | None, int]:
    """The default system prompt answers are measured under, and their token budget (the
    teacher's, and room to finish a sentence)."""
    config = dataset.manifest.get("config", {})
    return config.get("system_prompt"), config.get("teacher_max_tokens", 96) + 32


def _behind(candidate: Metrics, prompted: Metrics, oid: str) -> bool:
    k_a, n = _k(candidate, oid)
    return k_a < n and k_a < _k(prompted, oid)[0] + max(1, n // 10)


def _with(system: str | None, texts: list[str]) -> str | None:
    return with_preferences(system, texts)


# --- deciding -----------------------------------------------------------------------------
def _k(m: Metrics, oid: str) -> tuple[int, int]:
    n = m.support.get(oid, 0)
    return round(m.adherence.get(oid, 0.0) * n), n


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def verdict(report: Report, bounds: GateBounds) -> Verdict:
    """Promote only if something measurably improved and nothing measurably got worse
    (see the module docstring). Reasons are short sentences for the person."""
    m = report.metrics
    cand, best = m.get("candidate"), m.get("candidate+prompt")
    none, prompted, current = m.get("none"), m.get("prompt"), m.get("current")
    if cand is None or none is None:
        raise ValueError("verdict needs the candidate's and the bare base's measurements")
    better, worse, plan = [], [], {}
    for o in report.objectives:
        label = f"'{_short(o.text)}'"
        k_a, n = _k(cand, o.id)
        if o.kind == "withdrawn":
            k_0, n_0 = _k(none, o.id)
            if n and n_0 and diff(k_a, n, k_0, n_0)[0] > 0:
                worse.append(f"withdrawn {label} is still followed: {describe(k_a, n)} "
                             f"(the bare base: {describe(k_0, n_0)})")  # fmt: skip
            continue
        if n < bounds.min_support:
            worse.append(f"{label} is unmeasured ({n} held-out prompts, {bounds.min_support} "
                         "needed)")  # fmt: skip
            continue
        k_b = _k(best, o.id)[0] if best else k_a
        k_eff = max(k_a, k_b)
        k_p = _k(prompted, o.id)[0] if prompted else 0
        plan[o.id] = "adapter" if k_a >= max(k_b, k_p) else "prompt"  # ties: no prompt needed
        refs = [("prompting the base", prompted), ("the current revision", current)]
        for name, ref in refs:
            if ref is None:
                continue
            k_r, n_r = _k(ref, o.id)
            if n_r and diff(k_eff, n, k_r, n_r)[1] < 0:
                worse.append(f"{label} fell below {name}: {describe(k_eff, n)} vs "
                             f"{describe(k_r, n_r)}")  # fmt: skip
        k_ref, n_ref = max((_k(r, o.id) for _, r in refs if r is not None),
                           default=_k(none, o.id), key=lambda kn: kn[0] / max(kn[1], 1))  # fmt: skip
        if n_ref and diff(k_eff, n, k_ref, n_ref)[0] > 0:
            better.append(f"{label}: {describe(k_ref, n_ref)} → {describe(k_eff, n)}")
    ref = current or none
    _ce_and_tools(cand, ref, bounds, better, worse)
    forgot: list[str] = []  # what the retention bounds say
    if (why := _forgot(cand.retention_accuracy, none.retention_accuracy, bounds)) is not None:
        forgot.append(why)
    if (none.retention_ce is not None and cand.retention_ce is not None
            and cand.retention_ce - none.retention_ce > bounds.max_retention_rise):  # fmt: skip
        forgot.append(f"retention: cross-entropy on the base's own answers rose "
                      f"{none.retention_ce:.3f} → {cand.retention_ce:.3f} "
                      f"(bound +{bounds.max_retention_rise:g})")  # fmt: skip
    reasons = better + worse + forgot
    if not better:
        ref_name = "the current revision" if current is not None else "the prompt baseline"
        reasons.insert(0, f"nothing improved measurably over {ref_name}")
    return Verdict(bool(better) and not worse and not forgot, reasons, plan,
                   retention_only=bool(better) and not worse and bool(forgot))


def _forgot(accuracy: float | None, base: float | None, bounds: GateBounds) -> str | None:
    """Why retention accuracy is under its bound, or None when it is not (or unmeasured)."""
    if not base or accuracy is None or accuracy / base >= bounds.min_retention:
        return None
    return (f"retention: general questions answered {_pct(accuracy)} vs the bare base's "
            f"{_pct(base)} ({accuracy / base:.2f}×, bound {bounds.min_retention:g}×)")


def lost(first: Report, gentler: Report) -> list[str]:
    """What a gentler scale of the candidate lost of what the full-scale one learned: an
    objective significantly worse, or any tool habit (a weaker adapter weakens habits: at
    0.75 of its scale one stopped calling the calculator)."""
    full, gentle = first.metrics["candidate"], gentler.metrics["candidate"]
    out = []
    for o in first.objectives:
        k_f, n_f = _k(full, o.id)
        k_g, n_g = _k(gentle, o.id)
        if o.kind != "withdrawn" and n_f and n_g and diff(k_g, n_g, k_f, n_f)[1] < 0:
            out.append(f"'{_short(o.text)}' fell below the full scale's: {describe(k_g, n_g)} "
                       f"vs {describe(k_f, n_f)}")  # fmt: skip
    if (full.tool_rate or 0.0) > (gentle.tool_rate or 0.0):
        out.append(f"tool habits fell below the full scale's: {_pct(gentle.tool_rate or 0.0)} "
                   f"vs {_pct(full.tool_rate or 0.0)}")  # fmt: skip
    return out


def retention_first(engine: LlamaEngine, dataset: Dataset, candidate: Path, report: Report,
                    bounds: GateBounds, *, tools: list[dict[str, Any]] | None,
                    cache: GenerationCache | None = None) -> str | None:  # fmt: skip
    """For a gentler scale of a candidate that retention alone held back: its retention
    accuracy against the bound (the bare base's from `report`) — why it still fails, or
    None, and only then is it worth measuring it all (a tenth of the time)."""
    system, answer_tokens = _settings(dataset)
    config = Config("candidate", AdapterRef("gate:candidate", Path(candidate)), system)
    accuracy = retention(engine, config, system, answer_tokens, tools, cache)
    return _forgot(accuracy, report.metrics["none"].retention_accuracy, bounds)


def _ce_and_tools(c: Metrics, r: Metrics, bounds: GateBounds, better: list[str],
                  worse: list[str]) -> None:  # fmt: skip
    if c.ce is not None and r.ce is not None:
        if r.ce - c.ce > bounds.ce_margin:
            better.append(f"held-out cross-entropy {r.ce:.3f} → {c.ce:.3f}")
        elif c.ce - r.ce > bounds.max_ce_rise:
            worse.append(f"held-out cross-entropy rose {r.ce:.3f} → {c.ce:.3f} "
                         f"(bound +{bounds.max_ce_rise:g})")  # fmt: skip
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


def format_metrics(report: Report) -> str:
    """A small table: one column per configuration."""
    labels = list(report.metrics)
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, get: Callable[[Metrics], Any], fmt: Callable[[Any], str]) -> None:
        values = [get(report.metrics[k]) for k in labels]
        if any(v is not None for v in values):
            rows.append((name, ["-" if v is None else fmt(v) for v in values]))

    for o in report.objectives:
        row(f"{o.kind} {_short(o.text, 30)}", lambda m, i=o.id: m.adherence.get(i), _pct)
    row("retention (general questions)", lambda m: m.retention_accuracy, _pct)
    row("cross-entropy (held out)", lambda m: m.ce, lambda v: f"{v:.3f}")
    row("retention cross-entropy", lambda m: m.retention_ce, lambda v: f"{v:.3f}")
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


__all__ = ["GateBounds", "Metrics", "Report", "Verdict", "evaluate", "format_metrics", "verdict"]
