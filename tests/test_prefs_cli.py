"""`personal prefs`: list, add, rm, edit and scan preferences from the command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from personal.cli import main, prefs_cmd
from personal.errors import InvalidSignal, NotFound, PersonalError
from personal.log import Log
from personal.prefs.preferences import Preferences

runner = CliRunner()


def prefs(*args: str):
    return runner.invoke(prefs_cmd.app, list(args))


def said(*texts: str) -> str:
    with Log() as log:
        c = log.create_conversation()
        for text in texts:
            log.append(c.id, {"role": "user", "content": text})
        return c.id


def test_an_empty_list_says_what_to_do():
    r = prefs("list")
    assert r.exit_code == 0 and "personal prefs add" in r.output


def test_add_list_edit_rm():
    r = prefs("add", "Answer in French.")
    assert r.exit_code == 0, r.output
    assert "language, checked" in r.output and "Answer in French." in r.output
    with Log() as log:
        (pref,) = Preferences(log).list()
    listing = prefs("list")
    assert pref.id[:10] in listing.output and "manual" in listing.output
    r = prefs("edit", pref.id[:8], "Keep answers under 30 words.")
    assert r.exit_code == 0 and "length, checked" in r.output
    assert "under 30 words" in prefs("list").output
    r = prefs("rm", pref.id[:8])
    assert r.exit_code == 0 and "deleted" in r.output
    assert "personal prefs add" in prefs("list").output


def test_scan_prints_what_it_found_and_list_shows_the_source():
    conversation = said("Hi! Call me Sam and answer in German from now on.", "what is rye?")
    r = prefs("scan")
    assert r.exit_code == 0, r.output
    assert "Call the user Sam." in r.output and "Answer in German." in r.output
    assert "read 2 messages: 2 new preferences" in r.output
    assert "read 0 messages: 0 new preferences" in prefs("scan").output
    listing = prefs("list")
    assert conversation[:10] in listing.output and '"Hi! Call me Sam and' in listing.output
    said("call me Sam")
    assert "1 already known" in prefs("scan").output


def test_the_ids_shown_name_preferences_extracted_together():
    said("Call me Sam. Answer in French. Use bullet points. Never use emojis.")
    shown = re.findall(r"^(\w+) \(", prefs("scan").output, re.MULTILINE)
    assert len(set(shown)) == 4 and all(len(i) < 16 for i in shown)
    assert prefs("rm", shown[1]).exit_code == 0
    listed = [row["text"] for row in json.loads(prefs("list", "--json").output)]
    assert "Answer in French." not in listed and "Call the user Sam." in listed


def test_list_all_and_json():
    said("call me Sam", "call me Alex")
    prefs("scan")
    assert "Sam" not in prefs("list").output  # replaced by the later one
    assert "Sam" in prefs("list", "--all").output
    rows = json.loads(prefs("list", "--all", "--json").output)
    assert [(r["text"], r["active"]) for r in rows] == [
        ("Call the user Sam.", False), ("Call the user Alex.", True)]  # fmt: skip
    assert rows[0]["source"].endswith('"call me Sam"') and rows[0]["origin"] == "extracted"


def test_user_text_is_not_read_as_markup():
    r = prefs("add", "Never say [bold]hi[/bold]")
    assert "[bold]hi[/bold]" in r.output
    assert "[bold]hi[/bold]" in prefs("list").output


@pytest.mark.parametrize(
    "args, error",
    [
        (("add", "   "), InvalidSignal),
        (("rm", "0000aaaa"), NotFound),
        (("edit", "0000aaaa", "x"), NotFound),
    ],
)
def test_mistakes_are_typed_errors(args, error):
    r = prefs(*args)
    assert isinstance(r.exception, error) and isinstance(r.exception, PersonalError)
    assert r.exception.hint


def test_the_command_is_registered():
    assert any(group.name == "prefs" for group in main.app.registered_groups)


def test_the_real_command_prints_errors_without_a_traceback():
    def cli(*args: str):
        return subprocess.run([sys.executable, "-m", "personal.cli.main", "prefs", *args],
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    ok = cli("add", "Use bullet points.")
    assert ok.returncode == 0 and "format, checked" in ok.stdout
    bad = cli("rm", "0000aaaa")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "error:" in bad.stderr and "hint:" in bad.stderr


def test_list_says_how_each_preference_is_followed():
    said("Call me Sam. Be more formal.")
    prefs("scan")
    listing = prefs("list").output
    assert "checked, not learned yet" in listing and "unchecked" in listing
    assert "never trained on" in " ".join(listing.split())  # what an unchecked one means
    rows = {r["text"]: r["status"] for r in json.loads(prefs("list", "--json").output)}
    assert rows == {"Call the user Sam.": "in the prompt", "Be more formal.": "unchecked: in the prompt"}
