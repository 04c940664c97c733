"""The evaluation gate: the verdict (table-driven), and real measurements on SmolLM2 with
random adapters hot-swapped on one llama.cpp engine."""

from __future__ import annotations

import json

import pytest

from personal.learn.judge.gate import GateBounds, Metrics, format_metrics, verdict

SAM = "End every answer with — Sam"


def m(ce=1.0, retention=0.5, sam=0.08, tool=0.0, false=0.0, n=12, requests=4, **extra):
    return Metrics(ce=ce, retention_ce=retention, adherence={SAM: sam, **extra}, tool_rate=tool,
                   false_call_rate=false, counts={"adherence": n, "tool_requests": requests})  # fmt: skip


BASE = m()
CASES = [
    # (name, candidate, current, promote, words in the reasons)
    ("adherence improves", m(sam=0.92), None, True, ["adherence 'End every answer with — Sam': 8% → 92%"]),
    ("cross-entropy improves", m(ce=0.9), None, True, ["held-out cross-entropy 1.000 → 0.900"]),
    ("tool habits improve", m(tool=0.75), None, True, ["tool habits 0% → 75%"]),
    ("nothing beyond noise", m(ce=0.99, sam=0.16), None, False, ["no objective improved"]),
    ("one more prompt is noise", m(sam=0.08 + 1 / 12), None, False, ["no objective improved"]),
    ("retention breaks", m(sam=0.92, retention=0.9), None, False, ["retention", "0.500 → 0.900"]),
    ("retention within bound", m(sam=0.92, retention=0.7), None, True, []),
    ("cross-entropy regresses", m(sam=0.92, ce=1.2), None, False, ["cross-entropy rose"]),
    ("false tool calls", m(tool=0.75, false=0.5), None, False, ["ordinary questions 0% → 50%"]),
    ("another preference drops", m(sam=0.92, other=0.3), m(other=0.9), False, ["'other' fell 90% → 30%"]),
    ("not better than current", m(sam=0.92), m(sam=0.92), False, ["over the current revision"]),
    ("better than current", m(sam=0.95, ce=0.8), m(sam=0.92), True, ["1.000 → 0.800"]),
    ("tool habit lost vs current", m(sam=0.95, tool=0.25), m(sam=0.5, tool=0.75), False,
     ["tool habits fell 75% → 25%"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "cand", "current", "promote", "words"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_verdict(name, cand, current, promote, words):
    v = verdict(cand, current, BASE, GateBounds())
    assert v.promote is promote, v.reasons
    text = " | ".join(v.reasons)
    assert all(w in text for w in words), text
    assert v.reasons or promote


def test_retention_is_bounded_against_the_bare_base_not_the_current_revision():
    current = m(sam=0.5, retention=0.7)  # already drifted, within bound of the base
    v = verdict(m(sam=0.95, retention=0.8), current, BASE, GateBounds())
    assert not v.promote and "0.500 → 0.800" in " ".join(v.reasons)


def test_missing_metrics_are_skipped_and_a_reference_is_required():
    bare = Metrics(ce=1.0)
    assert verdict(Metrics(ce=0.5), None, bare, GateBounds()).promote
    with pytest.raises(ValueError):
        verdict(bare, None, None, GateBounds())


def test_format_metrics_is_a_table_per_label():
    table = format_metrics({"none": BASE, "candidate": m(sam=0.92)})
    assert "none" in table.splitlines()[0] and "candidate" in table.splitlines()[0]
    assert "92%" in table and "retention cross-entropy" in table


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
                "config": {"teacher_max_tokens": 24},
                "preferences": [{"text": SAM, "checker": {"type": "signoff", "text": "— Sam"}}]}
    return write_dataset({"test": test}, manifest, root=root)


@pytest.mark.slow
def test_gate_hot_swaps_adapters_on_one_engine_and_rejects_a_wrecked_model(smol, tmp_path):
    from personal.learn.judge.gate import evaluate
    from tests.lora_gguf import write_random_lora

    base, engine = smol
    ds = _dataset(base, engine, tmp_path / "datasets")
    weak = write_random_lora(base.path, tmp_path / "weak.gguf", std=0.02, layers=4, seed=1)
    wreck = write_random_lora(base.path, tmp_path / "wreck.gguf", std=0.3, layers=30, seed=2)
    metrics = evaluate(base, ds, engine, {"none": None, "weak": weak, "wreck": wreck,
                                          "none again": None}, max_tokens=24)  # fmt: skip
    none, again = metrics["none"], metrics["none again"]
    assert engine.load_count == 1 and engine.adapter is None  # swapped, never reloaded
    assert none.ce is not None and none.retention_ce is not None
    assert set(none.ce_by_kind) == {"preference", "tool"}
    assert none.adherence == {SAM: 0.0} and none.tool_rate is not None
    assert none.counts == {"ce": 2, "retention": 2, "adherence": 2, "tool_requests": 2}
    assert (again.ce, again.retention_ce, again.adherence) == (none.ce, none.retention_ce,
                                                               none.adherence)  # fmt: skip
    assert metrics["weak"].ce != none.ce  # the adapter was applied ...
    assert abs(metrics["weak"].retention_ce - none.retention_ce) < 0.25  # ... and barely matters
    assert metrics["wreck"].retention_ce > none.retention_ce + 1.0
    decision = verdict(metrics["wreck"], None, none, GateBounds())
    assert not decision.promote
    assert any("retention" in r for r in decision.reasons)
