"""Screenshots of the chat UI, compared with the SVGs in tests/__snapshots__/.

Everything rendered is deterministic: fixed titles and texts, fixed timestamps, a fixed
speed in the status bar. After a deliberate UI change, look at the new pictures and
accept them with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import itertools

import pytest

from personal.engine.fake import FakeEngine
from personal.engine.toolcall import render_call
from personal.log import Log, store
from personal.log.ids import id_at
from personal.prefs.preferences import Preferences, extract_from_message
from personal.tools import load_registry
from tui.app import PersonalApp
from tui.widgets import StatusBar

SIZE = (100, 30)


def conversation(log: Log, at: str, question: str, answer: str, status: str) -> str:
    conv = log.create_conversation(created_at=at)
    log.append(conv.id, {"role": "system", "content": "Be brief."}, created_at=at)
    log.append(conv.id, {"role": "user", "content": question}, created_at=at)
    log.append(
        conv.id, {"role": "assistant", "content": answer},
        model="fake-model", backend="fake", status=status, created_at=at,
    )  # fmt: skip
    return conv.id


@pytest.fixture
def app(log):
    conversation(log, "2025-01-01T09:00:00.000Z", "What is the capital of France?",
                 "**Paris.**", "complete")  # fmt: skip
    poem = conversation(
        log, "2025-01-02T09:00:00.000Z", "Write a poem about the sea",
        "# The sea\n\nGrey waves fold\n\n- salt\n- wind", "interrupted",
    )  # fmt: skip
    return PersonalApp(FakeEngine(model="fake-model"), log, conversation_id=poem)


def steady(pilot) -> None:
    """A blinking cursor would make the picture depend on timing."""
    pilot.app.chat.prompt.cursor_blink = False


def test_history_with_interrupted_answer(app, snap_compare):
    """An old conversation: dimmed system prompt, an answer marked interrupted."""
    assert snap_compare(app, run_before=steady, terminal_size=SIZE)


def test_delete_confirmation(app, snap_compare):
    """ctrl+d asks before deleting the open conversation."""
    assert snap_compare(app, press=["ctrl+d"], run_before=steady, terminal_size=SIZE)


def test_new_chat_answered(app, snap_compare):
    """A new chat, one question streamed to its (complete) answer."""

    async def ask(pilot):
        steady(pilot)
        app.engine.enqueue("Hello! Here is a list:\n\n1. one\n2. two")
        await pilot.press("ctrl+n", *"hi", "enter")
        for _ in range(250):
            if not app.chat.busy:
                break
            await pilot.pause(0.02)
        app.chat.query_one(StatusBar).show_speed(42.0)  # measured speed varies; pin it
        await pilot.pause()

    assert snap_compare(app, run_before=ask, terminal_size=SIZE)


async def wait_idle(pilot) -> None:
    for _ in range(250):
        if not pilot.app.chat.busy:
            break
        await pilot.pause(0.02)


def test_tool_call_and_rated_answer(log, snap_compare):
    """A call the model makes, shown between its answers; the answer rated good, the
    answers focused (selection and feedback keys in the footer)."""
    engine = FakeEngine(model="fake-model")
    engine.enqueue("Let me compute. " + render_call("calc", {"expression": "17*23"}),
                   "17 × 23 = **391**.")  # fmt: skip
    app = PersonalApp(engine, log, tools=load_registry(log, strict=False))

    async def ask(pilot):
        steady(pilot)
        app.chat.prompt.value = "What is 17*23?"
        await pilot.press("enter")
        await wait_idle(pilot)
        await pilot.press("escape", "plus")
        app.chat.query_one(StatusBar).show_speed(42.0)  # measured speed varies; pin it
        await pilot.pause()

    assert snap_compare(app, run_before=ask, terminal_size=SIZE)


def test_prefs_screen(log, snap_compare, monkeypatch):
    """/prefs: an extracted preference with its source, a manual one switched off."""
    ids = itertools.count(1)
    monkeypatch.setattr(store, "new_id", lambda: id_at(1_735_722_000_000, key=str(next(ids))))
    at = "2025-01-01T09:00:00.000Z"
    conv = log.create_conversation(created_at=at)
    said = log.append(conv.id, {"role": "user", "content": "From now on, call me Sam please."},
                      created_at=at)  # fmt: skip
    extract_from_message(log, said)
    prefs = Preferences(log)
    prefs.set_active(prefs.add("Answer in French.").id, False)
    app = PersonalApp(FakeEngine(model="fake-model"), log)
    assert snap_compare(app, press=[*"/prefs", "enter"], run_before=steady, terminal_size=SIZE)
