"""Screenshots of the chat UI, compared with the SVGs in tests/__snapshots__/.

Everything rendered is deterministic: fixed titles and texts, fixed timestamps, a fixed
speed in the status bar. After a deliberate UI change, look at the new pictures and
accept them with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from personal.engine.fake import FakeEngine
from personal.log import Log
from tui.app import PersonalApp
from tui.widgets import StatusBar

SIZE = (100, 30)


@pytest.fixture
def log(tmp_path):
    with Log(tmp_path / "log.db") as log:
        yield log


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


def test_history_with_interrupted_answer(app, snap_compare):
    """An old conversation: dimmed system prompt, an answer marked interrupted."""
    assert snap_compare(app, terminal_size=SIZE)


def test_delete_confirmation(app, snap_compare):
    """ctrl+d asks before deleting the open conversation."""
    assert snap_compare(app, press=["ctrl+d"], terminal_size=SIZE)


def test_new_chat_answered(app, snap_compare):
    """A new chat, one question streamed to its (complete) answer."""

    async def ask(pilot):
        app.engine.enqueue("Hello! Here is a list:\n\n1. one\n2. two")
        await pilot.press("ctrl+n", *"hi", "enter")
        for _ in range(250):
            if not app.chat.busy:
                break
            await pilot.pause(0.02)
        app.chat.query_one(StatusBar).show_speed(42.0)  # measured speed varies; pin it
        await pilot.pause()

    assert snap_compare(app, run_before=ask, terminal_size=SIZE)
