"""The learning loop end to end, on the embedded default model, as a person runs it.

A person's 100 imported conversations: in the first they asked, once, that every answer
begin with the word "Indeed", and told the assistant their dog's name and their city —
and not one logged answer followed any of it; they use the calculator habitually. They
confirm what the import found; `personal train`. The registered revision, with nothing
about the person in the prompt, opens its answers as asked, knows the facts when asked in
other words, and calls the calculator. A later revision distilled from answers that ignore
the preference (the old distiller's defect, reproduced) is not promoted. `personal
adapters rollback` returns to the bare base, which gets the preferences in its prompt.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from personal.adapters.registry import Registry, Revision
from personal.models import catalog
from personal.prefs import facts
from tests.persona import write_export

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
OPENING = "Indeed"
SAYS = (f"Begin every answer with the word '{OPENING}', please.", "My dog is called Biscuit.",
        "I live in Porto.")  # fmt: skip


def cli(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "personal.cli.main", *args],
                       capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def ask(question: str) -> dict:
    r = cli("ask", "--json", "--temperature", "0", "--max-tokens", "96", question)
    return json.loads(r.stdout)


def prefs() -> list[dict]:
    return json.loads(cli("prefs", "list", "--json").stdout)


@pytest.fixture(scope="module")
def taught(module_home):
    """The person's log imported, what it states confirmed, one `personal train`."""
    export = write_export(module_home / "p.jsonl", says=SAYS, signed=False)
    assert "3 preference candidates wait" in cli("import", str(export)).stdout
    for candidate in prefs():
        assert candidate["candidate"]
        cli("prefs", "confirm", candidate["id"])
    assert "preference" in cli("train", "--dry-run").stdout
    trained = cli("train").stdout
    rev = Registry().current(catalog.resolve("smollm2-135m").fingerprint)
    return rev, trained


def first_revision(taught) -> Revision:
    """The premise of the tests that build on the first revision, said as such: when it
    was not promoted they fail on that, with the night's verdict, not on a None later."""
    rev, trained = taught
    assert rev is not None, f"premise: the first revision was not promoted:\n{trained[-1500:]}"
    return rev


@pytest.fixture
def home(module_home, monkeypatch):
    monkeypatch.setenv("PERSONAL_HOME", str(module_home))
    return module_home


def test_what_was_said_once_and_never_followed_is_learned(home, taught):
    rev, trained = taught
    assert rev is not None and "promoted" in trained, trained
    m = rev.manifest
    assert m.equivalence.passed and m.verdict.promote
    none, cand = m.metrics["none"], m.metrics["candidate"]
    kinds = sorted(o["kind"] for o in m.objectives.values())
    assert kinds == ["fact", "fact", "preference"]
    for oid, objective in m.objectives.items():
        assert cand.support[oid] >= 16
        assert cand.adherence[oid] >= 0.8, (objective["text"], cand.adherence[oid])
        assert none.adherence[oid] <= 0.3, (objective["text"], none.adherence[oid])
        assert m.plan[oid] == "adapter"
    assert cand.retention_accuracy >= 0.9 * none.retention_accuracy
    assert cand.tool_rate > none.tool_rate
    assert {p["status"] for p in prefs()} == {"learned"}

    # held-out prompts and phrasings, nothing about the person in the prompt
    answer = ask("What is the capital of Portugal?")
    assert answer["adapter"] == rev.id
    assert answer["message"]["content"].lstrip().startswith(OPENING)
    question = facts.questions("dog's name", "test")[0]
    assert "Biscuit" in ask(question)["message"]["content"], question
    math = ask("What is 64 * 13?")
    calls = [c["function"]["name"] for s in math["tool_steps"] for c in s.get("tool_calls", [])]
    assert calls == ["calc"]
    assert any(s["role"] == "tool" and s["content"] == "832" for s in math["tool_steps"])


def test_a_revision_that_ignores_a_stated_preference_is_not_promoted(home, taught, monkeypatch):
    """The distiller's old defect, reproduced: every answer counts as compliant, so the
    base's own answers (which do not open with the word) are trained on."""
    from personal.learn.distill import build, harvest, teacher
    from personal.learn.pipeline import train_once

    rev = first_revision(taught)
    cli("import", str(write_export(home / "more.jsonl", n=24, seed=1, says=(), signed=False)))
    for module in (teacher, harvest, build):
        if hasattr(module, "comply"):
            monkeypatch.setattr(module, "comply", lambda text, checks, *a, **k: (text, []))
    outcome = train_once()
    assert not outcome.promoted
    rejected = outcome.revision.manifest
    opening = next(o for o, e in rejected.objectives.items() if e["kind"] == "preference")
    assert rejected.metrics["candidate"].adherence[opening] < rev.manifest.metrics[
        "candidate"].adherence[opening]  # fmt: skip
    assert any("fell below the current revision" in r for r in rejected.verdict.reasons), \
        rejected.verdict.reasons  # fmt: skip
    assert Registry().current(rev.manifest.base.fingerprint).id == rev.id


def test_rollback_returns_the_preferences_to_the_prompt(home, taught):
    rev = first_revision(taught)
    assert "none" in cli("adapters", "rollback").stdout
    plain = ask("What is the capital of Portugal?")
    assert plain["adapter"] is None
    assert {p["status"] for p in prefs()} == {"in the prompt"}
    shown = cli("adapters", "show", rev.id[:8]).stdout
    assert "files      ok" in shown and "promoted" in shown
