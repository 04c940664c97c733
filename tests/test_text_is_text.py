"""Text from the person, an import or a model file is shown as text.

Rich markup in a title or a preference ("[/x]") crashed `log list`, `log search`,
`log show` and the TUI's preferences screen; escape sequences in imported text reached
the terminal. Now markup is escaped wherever user text is printed, and control
characters are shown as visible escapes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from personal.engine.fake import FakeEngine
from personal.log import Log
from personal.prefs.preferences import Preferences
from personal.printable import printable

MARKUP = "[/x] [bold red]loud[/] [link=file:///etc]l[/link]"
ESCAPES = "title\x1b]0;pwned\x07 and \x1b[2J cleared \x9b31m \u202egnp.exe"


def cli(*args: str):
    return subprocess.run([sys.executable, "-m", "personal.cli.main", *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ,
                          "PERSONAL_BACKEND": "fake"}, stdin=subprocess.DEVNULL)  # fmt: skip


def test_printable_escapes_control_characters_only():
    assert printable("a\tb\nc\r\nd") == "a\tb\nc\nd"
    assert printable(ESCAPES) == ("title\\x1b]0;pwned\\x07 and \\x1b[2J cleared \\x9b31m "
                                  "\\u202egnp.exe")  # fmt: skip
    assert printable("héllo [b] ✓") == "héllo [b] ✓"


@pytest.fixture
def hostile_log(personal_home):
    with Log() as log:
        conv = log.create_conversation(title=MARKUP + " " + ESCAPES)
        log.append(conv.id, {"role": "user", "content": f"boom {MARKUP} {ESCAPES}"})
        log.append(conv.id, {"role": "assistant", "content": f"[/] {ESCAPES}"})
        Preferences(log).add(f"Answer with {MARKUP}.")
        return conv.id


@pytest.mark.parametrize("command", [["log", "list"], ["log", "show", "{conv}"],
                                     ["log", "search", "boom"], ["prefs", "list"]])  # fmt: skip
def test_cli_views_show_markup_and_escapes_as_text(hostile_log, command):
    result = cli(*[c.format(conv=hostile_log) for c in command])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "[/x]" in result.stdout or "[/x]" in result.stdout.replace("\n", "")
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\u202e" not in result.stdout


def test_an_error_quoting_markup_is_printed_not_parsed(personal_home):
    result = cli("log", "show", "[/x]")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "[/x]" in result.stderr


async def test_the_tui_preferences_screen_shows_markup_as_text(log):
    from tests.test_tui import SIZE, send
    from tui.app import PersonalApp
    from tui.prefs_screen import PrefsScreen

    Preferences(log).add(f"Answer with {MARKUP}.")
    Preferences(log).add(f"Sign off with {ESCAPES}")
    app = PersonalApp(FakeEngine(model="fake-model"), log)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/prefs")
        await pilot.pause()
        assert isinstance(app.screen, PrefsScreen)
        cells = [str(c) for i in range(app.screen.table.row_count)
                 for c in app.screen.table.get_row_at(i)]  # fmt: skip
        assert f"Answer with {MARKUP}." in cells
        assert any("\\x1b]0;pwned" in c for c in cells)
        assert not any("\x1b" in c for c in cells)


pytestmark = pytest.mark.anyio
