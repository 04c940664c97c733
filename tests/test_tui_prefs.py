"""/prefs: preferences listed with their source, and added, edited, switched and deleted
by keyboard (FakeEngine and a real log in tmp_path)."""

from __future__ import annotations

import pytest

from personal.engine.fake import FakeEngine
from personal.prefs.preferences import Preferences
from tests.test_tui import SIZE, send, wait_for
from tui.app import PersonalApp
from tui.confirm import ConfirmScreen
from tui.prefs_screen import PrefsScreen, TextPrompt

pytestmark = pytest.mark.anyio


def rows(screen: PrefsScreen) -> list[list[str]]:
    table = screen.table
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def type_into_prompt(pilot, text: str) -> None:
    assert isinstance(pilot.app.screen, TextPrompt)
    pilot.app.screen.query_one("#text").value = text
    await pilot.press("enter")


async def test_prefs_lists_sources_and_edits_by_keyboard(log):
    app = PersonalApp(FakeEngine(model="fake-model"), log)
    prefs = Preferences(log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "From now on, call me Sam. Thanks a lot for that")
        await wait_for(pilot, lambda: not app.chat.busy)
        conv = app.chat.session.conversation_id
        await send(pilot, "/prefs")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PrefsScreen)
        assert rows(screen) == [
            ["✓", "Call the user Sam.", "name", "in prompt",
             f"{conv[:8]} “From now on, call me Sam. …”"]
        ]  # fmt: skip
        # add
        await pilot.press("a")
        await type_into_prompt(pilot, "Answer in French.")
        assert [r[1:] for r in rows(screen)][1] == ["Answer in French.", "language", "in prompt",
                                                    "manual"]  # fmt: skip
        added = prefs.list()[1]
        assert screen.current_id == added.id  # the cursor follows the new one
        # edit (enter, or e)
        await pilot.press("enter")
        await type_into_prompt(pilot, "Answer in German.")
        assert prefs.get(added.id).text == "Answer in German."
        # switch off and on again
        await pilot.press("space")
        assert not prefs.get(added.id).active and rows(screen)[1][0] == "·"
        await pilot.press("space")
        assert prefs.get(added.id).active
        # escape in a prompt changes nothing
        await pilot.press("e", "escape")
        assert prefs.get(added.id).text == "Answer in German."
        # delete asks first
        await pilot.press("up", "d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert len(prefs.list()) == 2
        await pilot.press("d", "y")
        await pilot.pause()
        assert [p.text for p in prefs.list()] == ["Answer in German."]
        assert [r[1] for r in rows(screen)] == ["Answer in German."]
        await pilot.press("escape")
        assert app.screen is app.chat


async def test_prefs_says_how_to_add_when_empty(log):
    app = PersonalApp(FakeEngine(), log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "/prefs")
        await pilot.pause()
        assert app.screen.query_one("#empty").display
        await pilot.press("a", *"Be brief", "enter")
        assert not app.screen.query_one("#empty").display
        assert [p.text for p in Preferences(log).list()] == ["Be brief"]


async def test_a_message_is_read_for_preferences_off_the_event_loop(log, monkeypatch):
    """The extractor is bounded, but it never runs on the UI's thread: the chat keeps
    drawing while a long message is read."""
    import threading

    from personal.prefs import preferences

    threads = []
    real = preferences.extract

    def recording(text):
        threads.append(threading.current_thread())
        return real(text)

    monkeypatch.setattr(preferences, "extract", recording)
    app = PersonalApp(FakeEngine(model="fake-model"), log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "Call me Sam.")
        await wait_for(pilot, lambda: not app.chat.busy)
    assert threads and threading.main_thread() not in threads
    assert [p.kind for p in Preferences(log).list()] == ["name"]
