"""The evaluation gate: the verdict (table-driven), and real measurements on SmolLM2 with
random adapters hot-swapped on one llama.cpp engine."""

from __future__ import annotations

import json

import pytest

from personal.learn.judge.gate import GateBounds, Metrics, Report, format_metrics, verdict
from personal.learn.objectives import Objective, pool

SAM = Objective("p-sam", "preference", "End every answer with '— Sam'.",
                {"type": "signoff", "text": "— Sam"})
GONE = Objective("p-gone", "withdrawn", "Begin every answer with 'Yo'.",
                 {"type": "opening", "text": "Yo"})
N = 40


def m(ce=1.0, retention=0.5, acc=0.6, sam=2, n=N, tool=0.0, false=0.0, requests=4, gone=None,
      **extra) -> Metrics:  # fmt: skip
    adherence, support = {SAM.id: sam / n}, {SAM.id: n}
    if gone is not None:
        adherence[GONE.id], support[GONE.id] = gone / N, N
    return Metrics(ce=ce, retention_ce=retention, retention_accuracy=acc, adherence=adherence,
                   support=support, tool_rate=tool, false_call_rate=false,
                   counts={"tool_requests": requests}, **extra)  # fmt: skip


def report(candidate, *, prompt=None, best=None, current=None, none=None, objectives=(SAM,)):
    metrics = {"none": none or m(), "prompt": prompt or m(), "candidate": candidate}
    metrics["candidate+prompt"] = best or candidate
    if current is not None:
        metrics["current"] = current
    return Report(list(objectives), metrics)


CASES = [
    # (name, report, promote, words in the reasons)
    ("adherence improves over prompting", report(m(sam=36)), True, ["→ 90%"]),
    ("cross-entropy improves, nothing worse", report(m(ce=0.9)), True,
     ["held-out cross-entropy 1.000 → 0.900"]),
    ("tool habits improve", report(m(tool=0.75)), True, ["tool habits 0% → 75%"]),
    ("nothing beyond noise", report(m(ce=0.99, sam=4)), False, ["nothing improved measurably"]),
    ("one more prompt is noise", report(m(sam=3)), False, ["nothing improved measurably"]),
    ("retention accuracy breaks", report(m(sam=36, acc=0.45)), False,
     ["general questions answered 45%", "0.75×"]),
    ("retention within bound", report(m(sam=36, acc=0.55)), True, []),
    ("retention cross-entropy breaks", report(m(sam=36, retention=0.9)), False,
     ["0.500 → 0.900"]),
    ("cross-entropy regresses", report(m(sam=36, ce=1.2)), False, ["cross-entropy rose"]),
    ("false tool calls", report(m(tool=0.75, false=0.5)), False, ["ordinary questions 0% → 50%"]),
    # the case that fooled the old gate: prompting the base did better than the adapter
    ("worse than prompting the base", report(m(ce=0.5, sam=0), prompt=m(sam=22)), False,
     ["fell below prompting the base: 0%", "55%"]),
    ("with the prompt it is as good", report(m(ce=0.5, sam=0), best=m(sam=22), prompt=m(sam=22)),
     True, ["cross-entropy"]),
    ("unmeasured preference", report(m(sam=6, n=6)), False, ["unmeasured (6 held-out prompts"]),
    ("worse than the current revision", report(m(sam=20), current=m(sam=36)), False,
     ["fell below the current revision"]),
    ("not better than current", report(m(sam=36), current=m(sam=36)), False,
     ["over the current revision"]),
    ("better than current", report(m(sam=38, ce=0.8), current=m(sam=36)), True, ["1.000 → 0.800"]),
    ("tool habit lost vs current", report(m(sam=38, tool=0.25), current=m(sam=20, tool=0.75)),
     False, ["tool habits fell 75% → 25%"]),
    ("withdrawn preference still followed", report(m(sam=36, gone=30), none=m(gone=2),
                                                   objectives=(SAM, GONE)), False,
     ["withdrawn 'Begin every answer with 'Yo'.' is still followed"]),
    ("withdrawn preference gone", report(m(sam=36, gone=1), none=m(gone=2),
                                         objectives=(SAM, GONE)), True, []),
]  # fmt: skip


@pytest.mark.parametrize(("name", "rep", "promote", "words"), CASES, ids=[c[0] for c in CASES])
def test_verdict(name, rep, promote, words):
    v = verdict(rep, GateBounds())
    assert v.promote is promote, v.reasons
    text = " | ".join(v.reasons)
    assert all(w in text for w in words), text
    assert v.reasons or promote


def test_the_plan_relies_on_the_adapter_only_where_it_is_at_least_as_good():
    learned = verdict(report(m(sam=36), best=m(sam=30), prompt=m(sam=20)), GateBounds())
    assert learned.plan == {SAM.id: "adapter"}
    prompted = verdict(report(m(sam=10), best=m(sam=30), prompt=m(sam=20)), GateBounds())
    assert prompted.plan == {SAM.id: "prompt"}


def test_retention_is_bounded_against_the_bare_base_not_the_current_revision():
    current = m(sam=20, retention=0.7)  # already drifted, within bound of the base
    v = verdict(report(m(sam=38, retention=0.8), current=current), GateBounds())
    assert not v.promote and "0.500 → 0.800" in " ".join(v.reasons)


def test_a_candidate_held_back_by_retention_alone_says_so():
    forgot = verdict(report(m(sam=38, acc=0.4)), GateBounds())  # 0.4 / 0.6 < 0.9
    assert not forgot.promote and forgot.retention_only
    assert "retention: general questions" in forgot.reasons[-1]
    also_worse = verdict(report(m(sam=38, acc=0.4, ce=1.5)), GateBounds())
    assert not also_worse.promote and not also_worse.retention_only
    nothing_better = verdict(report(m(sam=2, acc=0.4)), GateBounds())
    assert not nothing_better.retention_only  # scaling down cannot make it better
    fine = verdict(report(m(sam=38)), GateBounds())
    assert fine.promote and not fine.retention_only


def test_missing_metrics_are_skipped_and_a_reference_is_required():
    bare = Metrics(ce=1.0)
    assert verdict(Report([], {"none": bare, "candidate": Metrics(ce=0.5)}), GateBounds()).promote
    with pytest.raises(ValueError):
        verdict(Report([], {"candidate": bare}), GateBounds())


def test_format_metrics_is_a_table_per_configuration():
    table = format_metrics(report(m(sam=36)))
    assert "none" in table.splitlines()[0] and "candidate" in table.splitlines()[0]
    assert "90%" in table and "retention (general questions)" in table


# --- real: SmolLM2-135M with random adapters --------------------------------------------------
@pytest.fixture(scope="module")
def smol(smollm2_base, smollm2_engine):
    return smollm2_base, smollm2_engine


def _dataset(base, engine, root):
    """A hand-made test split: the base's own answers (retention), a preference target, and
    two tool requests, with the chat's tools offered."""
    from personal.chat.session import DEFAULT_SYSTEM_PROMPT
    from personal.engine import GenerationParams
    from personal.learn.dataset import example, write_dataset
    from personal.tools import load_registry

    tools = load_registry(None).schemas()
    system = {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}

    def ask(q):
        return [system, {"role": "user", "content": q}]

    test = []
    for q in ("What is the capital of Japan?", "Why do cats purr?"):
        said = engine.chat(ask(q), GenerationParams(temperature=0, max_tokens=40), tools=tools)
        test.append(example([*ask(q), {"role": "assistant", "content": said.complete().text}],
                            "retention", tools=tools))  # fmt: skip
    for q in ("What is a haiku?", "How do magnets work?"):
        target = {"role": "assistant", "content": "A short answer.\n\n— Sam"}
        test.append(example([*ask(q), target], "preference", tools=tools))
    for q, expr in (("What is 17*23?", "17*23"), ("Calculate 2**10.", "2**10")):
        call = {"id": "call_1", "type": "function",
                "function": {"name": "calc", "arguments": json.dumps({"expression": expr})}}
        test.append(example([*ask(q), {"role": "assistant", "content": "", "tool_calls": [call]}],
                            "tool", tools=tools, meta={"stage": "call", "expected_tool": "calc"}))
    manifest = {"base": {"name": base.name, "fingerprint": base.fingerprint},
                "config": {"teacher_max_tokens": 24, "system_prompt": DEFAULT_SYSTEM_PROMPT},
                "objectives": [SAM.to_dict()],
                "prompted": [{"id": SAM.id, "text": SAM.text}]}  # fmt: skip
    return write_dataset({"test": test}, manifest, root=root)


@pytest.mark.slow
def test_gate_measures_every_configuration_and_rejects_a_wrecked_model(smol, tmp_path):
    from personal.learn.cache import GenerationCache
    from personal.learn.judge.gate import evaluate
    from personal.tools import load_registry
    from tests.lora_gguf import write_random_lora

    base, engine = smol
    cache = GenerationCache(tmp_path / "generations.db")
    tools = load_registry(None).schemas()
    ds = _dataset(base, engine, tmp_path / "datasets")
    weak = write_random_lora(base.path, tmp_path / "weak.gguf", std=0.02, layers=4, seed=1)
    wreck = write_random_lora(base.path, tmp_path / "wreck.gguf", std=0.3, layers=30, seed=2)
    gentle = evaluate(engine, ds, candidate=weak, tools=tools, cache=cache)
    assert set(gentle.metrics) == {"none", "prompt", "candidate", "candidate+prompt"}
    none, cand = gentle.metrics["none"], gentle.metrics["candidate"]
    assert engine.load_count == 1 and engine.adapter is None  # swapped, never reloaded
    assert none.ce is not None and none.retention_ce is not None
    assert set(none.ce_by_kind) == {"preference", "tool"}
    assert none.support[SAM.id] == len(pool("answers", "test")) >= 16
    assert none.adherence[SAM.id] <= 0.2 and none.tool_rate is not None
    assert 0.3 <= none.retention_accuracy <= 1.0  # the base knows some general facts
    assert gentle.metrics["prompt"].ce is None  # the prompt configurations measure adherence
    assert cand.ce != none.ce  # the adapter was applied ...
    assert abs(cand.retention_ce - none.retention_ce) < 0.25  # ... and barely matters
    # measured again, uncached: the same figures (the cache below may stand in for them)
    again = evaluate(engine, ds, candidate=None, tools=tools).metrics["none"]
    assert (again.ce, again.retention_ce, again.adherence, again.retention_accuracy) == (
        none.ce, none.retention_ce, none.adherence, none.retention_accuracy)  # fmt: skip
    hits = cache.hits
    wrecked = evaluate(engine, ds, candidate=wreck, tools=tools, cache=cache)
    assert cache.hits > hits  # the bare base's answers were not generated a third time
    assert wrecked.metrics["none"].adherence == none.adherence
    assert wrecked.metrics["candidate"].retention_ce > none.retention_ce + 1.0
    decision = verdict(wrecked, GateBounds())
    assert not decision.promote
    assert any("retention" in r for r in decision.reasons)
