"""The pipeline's gentler scales: what decides a scale, and what each costs.

A candidate held back by retention alone is tried again at a share of its LoRA scale.
Each try is exported; its retention is measured first and alone, and only a scale that
passes it is checked for equivalence and gated in full. Here the export, the measurements
and the checks are stand-ins that record what was asked (the real ones: test_export.py,
test_learning_loop.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from personal.adapters.manifest import Equivalence
from personal.learn import pipeline
from personal.learn.judge import gate


@pytest.fixture
def world(tmp_path, monkeypatch):
    asked: list[str] = []
    outcome = {"retention": None, "eq": True, "verdict": gate.Verdict(True, []), "lost": []}

    def export(registry, adapter, base, run_dir):
        staged = tmp_path / f"staged-{len(asked)}"
        staged.mkdir()
        asked.append("export")
        return staged, {"gguf": "adapter.gguf"}

    def retention_first(*args, **kw):
        asked.append("retention")
        return outcome["retention"]

    def equivalence(*args):
        asked.append("equivalence")
        return Equivalence(passed=outcome["eq"], reasons=() if outcome["eq"] else ("KL",))

    def full(*args):
        asked.append("gate")
        return "report", outcome["verdict"]

    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text('{"lora_parameters": {"scale": 20}}')
    monkeypatch.setattr(pipeline, "_export", export)
    monkeypatch.setattr(gate, "retention_first", retention_first)
    monkeypatch.setattr(pipeline, "_equivalence", equivalence)
    monkeypatch.setattr(pipeline, "_gate", full)
    monkeypatch.setattr(gate, "lost", lambda first, report: outcome["lost"])

    def gentler():
        return pipeline._gentler(None, tmp_path / "adapter", None, tmp_path / "run", 0.9, None,
                                 None, None, None, [], None, "first report")  # fmt: skip

    return asked, outcome, gentler, tmp_path


def test_a_scale_that_still_forgets_costs_only_its_retention(world):
    asked, outcome, gentler, tmp = world
    outcome["retention"] = "retention: 70% vs 80% (0.88×, bound 0.9×)"
    tried, why = gentler()
    assert tried is None and why == outcome["retention"]
    assert asked == ["export", "retention"]  # no equivalence, no full gate
    assert not (tmp / "staged-0").exists()  # its export is not left behind


def test_a_scale_that_passes_everything_is_kept(world):
    asked, outcome, gentler, _ = world
    (staged, formats, eq, report, verdict), why = gentler()
    assert why == "" and eq.passed and verdict.promote and staged.exists()
    assert asked == ["export", "retention", "equivalence", "gate"]


def test_a_scale_that_llama_cpp_and_mlx_disagree_on_is_not_kept(world):
    asked, outcome, gentler, tmp = world
    outcome["eq"] = False
    tried, why = gentler()
    assert tried is None and why == "equivalence check failed: KL"  # a gentler one may agree
    assert not (tmp / "staged-0").exists()


def test_a_scale_that_breaks_something_else_stops_the_search(world):
    asked, outcome, gentler, _ = world
    outcome["verdict"] = gate.Verdict(False, ["'sign-off' fell below prompting the base"])
    tried, why = gentler()
    assert tried is None and why.startswith("not only retention")
    outcome["verdict"] = gate.Verdict(False, ["retention: 0.89×"], retention_only=True)
    tried, why = gentler()
    assert tried is None and why == "retention: 0.89×"


def test_a_scale_that_loses_what_the_full_scale_learned_stops_the_search(world):
    asked, outcome, gentler, tmp = world
    outcome["lost"] = ["tool habits fell below the full scale's: 80% vs 100%"]
    tried, why = gentler()
    assert tried is None and why.startswith("not only retention") and "tool habits" in why
    assert not (tmp / "staged-0").exists()


def test_lost_names_an_objective_significantly_worse_and_any_tool_habit_lost():
    from personal.adapters.manifest import Metrics
    from personal.learn.objectives import Objective

    o = Objective("o1", "preference", "End every answer with '— Sam'.", {"type": "suffix"})

    def report(k: int, tool: float) -> gate.Report:
        return gate.Report([o], {"candidate": Metrics(adherence={"o1": k / 38},
                                                      support={"o1": 38}, tool_rate=tool)})

    full = report(30, 1.0)
    assert gate.lost(full, report(27, 1.0)) == []  # within the noise: kept
    assert "fell below the full scale's: 55%" in gate.lost(full, report(21, 1.0))[0]
    assert gate.lost(full, report(30, 0.875)) == [
        "tool habits fell below the full scale's: 88% vs 100%"]


def test_the_gentler_scale_is_written_into_the_copy_only(world):
    asked, outcome, gentler, tmp = world
    gentler()
    assert '"scale": 18.0' in (tmp / "run" / "gentler" / "adapter_config.json").read_text()
    assert Path(tmp / "adapter" / "adapter_config.json").read_text().count("20") == 1


def test_retention_first_measures_the_candidate_against_the_bare_base(tmp_path):
    """The real measurement on a scripted engine: k of the general questions answered right,
    against the bare base's accuracy in the first report."""
    from types import SimpleNamespace

    from personal.adapters.manifest import Metrics
    from personal.engine.fake import FakeEngine
    from personal.learn.objectives import retention_questions

    qa = retention_questions()
    dataset = SimpleNamespace(manifest={"config": {"system_prompt": "Be brief."}})
    first = gate.Report([], {"none": Metrics(retention_accuracy=0.75)})
    engine = FakeEngine()
    for right in (len(qa), len(qa) * 5 // 8):  # all, then 62.5%
        engine.enqueue(*[f"It is {a[0]}." if i < right else "I do not know."
                         for i, (_, a) in enumerate(qa)])  # fmt: skip
        why = gate.retention_first(engine, dataset, tmp_path / "c.gguf", first, gate.GateBounds(),
                                   tools=None)  # fmt: skip
        if right == len(qa):
            assert why is None
        else:
            assert why is not None and "62%" in why and "75%" in why and "0.83×" in why, why
