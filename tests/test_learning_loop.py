"""The learning loop end to end, on the embedded default model, as a person runs it.

Import 100 conversations in which the person once asked for a sign-off ("— Sam") and
habitually uses the calculator; `personal train`; the registered revision measurably
changes behaviour on held-out prompts without the preference in the prompt; `personal
adapters rollback` restores the previous state (no adapter).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from personal.adapters.registry import Registry
from personal.models import catalog
from tests.persona import SIGNOFF, write_export

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def cli(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "personal.cli.main", *args],
                       capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def ask(question: str) -> dict:
    r = cli("ask", "--json", "--temperature", "0", "--max-tokens", "96", question)
    return json.loads(r.stdout)


def test_train_learns_the_preference_and_the_tool_habit_then_rolls_back(tmp_path):
    imported = cli("import", str(write_export(tmp_path / "p.jsonl"))).stdout
    assert "1 preference candidate waits for you to confirm it" in imported
    # a preference from an imported file trains nothing until the person confirms it
    (candidate,) = [p for p in json.loads(cli("prefs", "list", "--json").stdout) if p["candidate"]]
    assert SIGNOFF in candidate["text"]
    cli("prefs", "confirm", candidate["id"])
    dry = cli("train", "--dry-run").stdout
    assert "preference" in dry and "tool" in dry

    trained = cli("train").stdout
    assert "promoted" in trained, trained
    base = catalog.resolve("smollm2-135m")
    rev = Registry().current(base.fingerprint)
    m = rev.manifest
    assert m.equivalence.passed and m.verdict.promote
    none, cand = m.metrics["none"], m.metrics["candidate"]
    signoff = next(k for k in cand.adherence if "Sam" in k)
    assert none.adherence[signoff] <= 0.2 and cand.adherence[signoff] >= 0.6
    assert cand.tool_rate > none.tool_rate
    assert cand.retention_ce <= none.retention_ce + 0.25

    # held-out prompts, no preference in the prompt: the adapter does it
    answer = ask("What is the capital of Portugal?")
    assert answer["adapter"] == rev.id
    assert answer["message"]["content"].rstrip().endswith(SIGNOFF)
    math = ask("What is 64 * 13?")
    calls = [c["function"]["name"] for s in math["tool_steps"] for c in s.get("tool_calls", [])]
    assert calls == ["calc"]
    assert any(s["role"] == "tool" and s["content"] == "832" for s in math["tool_steps"])

    assert "none" in cli("adapters", "rollback").stdout
    plain = ask("What is the capital of Portugal?")
    assert plain["adapter"] is None and not plain["message"]["content"].rstrip().endswith(SIGNOFF)
    shown = cli("adapters", "show", rev.id[:8]).stdout
    assert "files      ok" in shown and "promoted" in shown
