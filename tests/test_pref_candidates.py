"""Imported preferences are inert candidates until the person confirms them; a malformed
checker is refused at import by name, and a bad preference never breaks training
(issue 10). The CLI shows candidates apart, with how to confirm them (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from personal.cli import prefs_cmd
from personal.errors import ImportFormatError, InvalidSignal
from personal.learn.distill.teacher import comply
from personal.log import Log
from personal.prefs import importing
from personal.prefs.preferences import Preferences, scan
from tests.test_import_chatgpt import code_interpreter_export

runner = CliRunner()
PROFILE = {"type": "profile", "messages": [], "preferences": [
    {"text": "Call the user Sam.", "kind": "name", "checker": {"type": "name", "name": "Sam"}},
    {"text": "Answer in French.", "kind": "language", "active": False,
     "checker": {"type": "language", "language": "fr"}},
]}  # fmt: skip


def write(path: Path, *lines: dict) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_an_imported_profile_cannot_steer_training_until_confirmed(log, tmp_path):
    Preferences(log).add("Call the user Alex.")
    report = importing.import_file(log, write(tmp_path / "p.jsonl", PROFILE))
    assert report.preferences == 2
    prefs = Preferences(log)
    assert [p.text for p in prefs.list(active_only=True)] == ["Call the user Alex."]
    assert prefs.profile() == "- Call the user Alex."
    sam, french = prefs.candidates()
    assert not sam.confirmed and not sam.active and sam.meta["candidate"]["active"]
    confirmed = prefs.confirm(sam.id)
    assert confirmed.confirmed and confirmed.active
    # a single-valued kind: the confirmed name replaces the one in use
    assert [p.text for p in prefs.list(active_only=True)] == ["Call the user Sam."]
    assert not prefs.confirm(french.id).active  # it was exported switched off: stays off
    with pytest.raises(InvalidSignal):
        prefs.confirm(sam.id)  # not a candidate any more


def test_a_rejected_candidate_is_not_proposed_again(log, tmp_path):
    path = write(tmp_path / "p.jsonl", PROFILE)
    importing.import_file(log, path)
    prefs = Preferences(log)
    for p in prefs.candidates():
        prefs.reject(p.id)
    assert prefs.candidates() == [] and prefs.list(active_only=True) == []
    assert all(p.rejected for p in prefs.list())
    export = json.loads(json.dumps(code_interpreter_export()))
    chatgpt = tmp_path / "conversations.json"
    chatgpt.write_text(json.dumps(export))
    first = importing.import_file(log, chatgpt)
    assert first.preferences > 0
    for p in prefs.candidates():
        prefs.set_active(p.id, False)  # the TUI's switch: off rejects a candidate
    assert importing.import_file(log, chatgpt).preferences == 0


def test_a_malformed_checker_is_refused_at_import_by_name(log, tmp_path):
    good = {"messages": [{"role": "user", "content": "hi"}]}
    bad = {"type": "profile", "messages": [], "preferences": [
        {"text": "Keep it short.", "checker": {"type": "max_words", "n": "lots"}}]}  # fmt: skip
    with pytest.raises(ImportFormatError) as e:
        importing.import_file(log, write(tmp_path / "bad.jsonl", good, bad))
    assert "'Keep it short.'" in e.value.reason and "malformed checker" in e.value.reason
    assert e.value.line == 2 and "checker" in e.value.hint
    assert log.conversations() == [] and Preferences(log).list() == []


def test_a_bad_checker_already_in_the_log_never_breaks_training(log):
    pref = Preferences(log).add("Call the user Sam.")
    log.db.execute("UPDATE preferences SET checker = ? WHERE id = ?",
                   [json.dumps({"type": "name"}), pref.id])  # fmt: skip
    (used,) = Preferences(log).list(active_only=True)
    assert used.checker is None and "'name' must be" in used.meta["checker_error"]
    checks = [(p.text, p.checker) for p in Preferences(log).list(active_only=True) if p.checker]
    assert comply("Hello there.", checks)[0] == "Hello there."  # training's check runs


def test_statements_in_imported_conversations_are_candidates(log, tmp_path):
    line = {"messages": [{"role": "user", "content": "From now on, call me Robin."}]}
    path = write(tmp_path / "c.jsonl", line)
    assert importing.import_file(log, path, dry_run=True).proposed == ("Call the user Robin.",)
    report = importing.import_file(log, path)
    assert report.proposed == ("Call the user Robin.",)
    assert importing.import_file(log, path, dry_run=True).proposed == ()  # nothing new in it
    (candidate,) = Preferences(log).candidates()
    assert candidate.origin == "extracted" and candidate.source_message_id
    assert Preferences(log).list(active_only=True) == []
    c = log.create_conversation()  # said in a chat, it is taken at once
    log.append(c.id, {"role": "user", "content": "From now on, call me Robin."})
    (new,) = scan(log).new
    assert new.confirmed and new.active
    dry = importing.import_file(log, write(tmp_path / "d.jsonl", {"messages": [
        {"role": "user", "content": "Always answer in German."}]}), dry_run=True)  # fmt: skip
    assert dry.proposed == ("Answer in German.",) and len(log.conversations()) == 2


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "personal.cli.main", *args],
                          capture_output=True, text=True, timeout=120,
                          env={"PERSONAL_HOME": str(home), "PATH": "/usr/bin:/bin",
                               "PYTHONPATH": str(Path(__file__).parents[1])})  # fmt: skip


def test_custom_instructions_are_proposed_by_prefs_list(tmp_path, personal_home):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(code_interpreter_export()))
    dry = cli("import", "--dry-run", str(path), home=personal_home)
    assert dry.returncode == 0 and "would import 1 conversations" in dry.stdout
    assert "Call the user Sam." in dry.stdout
    r = cli("import", str(path), home=personal_home)
    assert r.returncode == 0, r.stderr
    assert "preference candidates wait for you" in r.stdout and "personal prefs list" in r.stdout
    listing = runner.invoke(prefs_cmd.app, ["list"])
    assert "candidates from imports" in listing.output and "Call the user Sam." in listing.output
    assert "personal prefs confirm ID" in listing.output
    with Log() as log:
        sam = next(p for p in Preferences(log).candidates() if p.kind == "name")
    r = runner.invoke(prefs_cmd.app, ["confirm", sam.id[:12]])
    assert r.exit_code == 0 and "confirmed" in r.output
    with Log() as log:
        assert [p.text for p in Preferences(log).list(active_only=True)] == ["Call the user Sam."]
    as_json = json.loads(runner.invoke(prefs_cmd.app, ["list", "--json"]).output)
    assert {p["candidate"] for p in as_json} == {True, False}


def test_an_imported_withdrawal_switches_nothing_off(log, tmp_path):
    signoff = Preferences(log).add("End every answer with '— Sam'.")
    line = {"messages": [{"role": "user", "content": "Stop signing off."}]}
    report = importing.import_file(log, write(tmp_path / "w.jsonl", line))
    assert report.conversations == 1 and report.proposed == ()
    assert Preferences(log).get(signoff.id).active  # said in a file, not to this assistant
    c = log.create_conversation()
    log.append(c.id, {"role": "user", "content": "Stop signing off."})
    scan(log)
    assert not Preferences(log).get(signoff.id).active  # said here, it is withdrawn
