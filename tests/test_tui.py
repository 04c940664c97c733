"""The chat UI, driven by Textual's pilot against FakeEngine and a real log in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from personal.engine.base import AdapterRef
from personal.engine.fake import FakeEngine
from personal.errors import EngineError, LogError
from personal.log import Log
from tui import commands
from tui.app import PersonalApp, run
from tui.confirm import ConfirmScreen
from tui.widgets import (
    NEW_CHAT,
    AssistantMessage,
    ConversationList,
    StatusBar,
    SystemMessage,
    UserMessage,
)

SIZE = (100, 30)
pytestmark = pytest.mark.anyio  # async tests run on asyncio (anyio's pytest plugin)


@pytest.fixture
def engine(fake_engine):
    return fake_engine


class FlakyEngine(FakeEngine):
    """Fails its first `failures` generations with an EngineError."""

    def __init__(self, failures: int = 1):
        super().__init__(model="flaky")
        self.failures = failures

    def _generate(self, messages, params, cancel):
        if self.failures:
            self.failures -= 1
            raise EngineError("the model fell over", hint="try again")
        return (yield from super()._generate(messages, params, cancel))


def add_conversation(log: Log, question: str, answer: str, status: str = "complete") -> str:
    conv = log.create_conversation()
    log.append(conv.id, {"role": "system", "content": "Be brief."})
    log.append(conv.id, {"role": "user", "content": question})
    log.append(conv.id, {"role": "assistant", "content": answer}, model="fake-model", status=status)
    return conv.id


async def wait_for(pilot, condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not met in time")


async def answer_started(pilot) -> None:
    """Wait until the answer's first text has streamed in (the generation is under way)."""
    chat = pilot.app.chat
    await wait_for(
        pilot, lambda: chat.query(AssistantMessage) and chat.query_one(AssistantMessage).source
    )


async def send(pilot, text: str) -> None:
    pilot.app.chat.prompt.value = text
    pilot.app.chat.prompt.focus()
    await pilot.press("enter")


def toasts(app) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def list_ids(app) -> list[str | None]:
    return [option.id for option in app.chat.query_one(ConversationList).options]


async def test_question_streams_answer_and_logs_both(engine, log):
    engine.enqueue("Paris is the **capital** of France.")
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press(*"Capital of France?", "enter")
        await wait_for(pilot, lambda: not app.chat.busy and app.chat.query(AssistantMessage))
        answer = app.chat.query_one(AssistantMessage)
        assert answer.source == "Paris is the **capital** of France."
        assert answer.status == "complete" and not answer.border_subtitle
        assert app.chat.query_one(UserMessage).content == "Capital of France?"
        assert app.chat.prompt.value == ""
        conv_id = app.chat.session.conversation_id
        assert list_ids(app) == [NEW_CHAT, conv_id]
        assert "tok/s –" not in app.chat.query_one(StatusBar).plain  # a speed was measured
    rows = log.messages(conv_id)
    assert [(m.role, m.status) for m in rows] == [
        ("system", "complete"), ("user", "complete"), ("assistant", "complete")
    ]  # fmt: skip
    assert rows[1].content == "Capital of France?"
    assert rows[2].content == "Paris is the **capital** of France."
    assert rows[2].model == "fake-model"
    assert log.conversation(conv_id).title == "Capital of France?"


async def test_second_turn_sends_history(engine, log):
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for text in ("one", "two"):
            await send(pilot, text)
            await wait_for(pilot, lambda: not app.chat.busy)
        assert [a.source for a in app.chat.query(AssistantMessage)] == [
            "You said: one",
            "You said: two",
        ]
    assert [m["content"] for m in engine.calls[1]] == [
        "You are a helpful, concise assistant. Answer the question directly.",
        "one", "You said: one", "two",
    ]  # fmt: skip


async def test_open_conversation_shows_history_with_markers(engine, log):
    done = add_conversation(log, "What is 2+2?", "4")
    cut = add_conversation(log, "Write a poem", "Roses are", status="interrupted")
    live = add_conversation(log, "Still going?", "Yes, and", status="streaming")
    app = PersonalApp(engine, log, conversation_id=cut)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert app.chat.session.conversation_id == cut
        assert "Be brief." in str(app.chat.query_one(SystemMessage).content)
        answer = app.chat.query_one(AssistantMessage)
        assert (answer.source, answer.status) == ("Roses are", "interrupted")
        assert "interrupted" in answer.border_subtitle
        # the sidebar lists everything, newest first, and highlights the open one
        assert list_ids(app) == [NEW_CHAT, live, cut, done]
        assert app.chat.query_one(ConversationList).highlighted_id == cut
        # switch with the keyboard: focus the list, move down, enter
        await pilot.press("ctrl+l", "down", "enter")
        assert app.chat.session.conversation_id == done
        assert app.chat.query_one(AssistantMessage).status == "complete"
        assert app.chat.prompt.has_focus
        await app.chat.open_conversation(live)
        await pilot.pause()
        assert app.chat.query_one(AssistantMessage).border_subtitle == "… streaming"
        # continuing an old conversation appends to it
        await send(pilot, "And 3+3?")
        await wait_for(pilot, lambda: not app.chat.busy)
    assert [m.content for m in log.messages(live)][-2:] == ["And 3+3?", "You said: And 3+3?"]


async def test_new_chat_and_list_reflects_other_writers(engine, log):
    old = add_conversation(log, "old question", "old answer")
    app = PersonalApp(engine, log, conversation_id=old)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("ctrl+n")
        assert app.chat.session.conversation_id is None
        assert not app.chat.query(AssistantMessage) and app.chat.query("#welcome")
        assert app.chat.query_one(ConversationList).highlighted_id == NEW_CHAT
        # another process logs a conversation: focusing the list shows it
        other = add_conversation(log, "from the CLI", "hi")
        await pilot.press("ctrl+l")
        assert list_ids(app) == [NEW_CHAT, other, old]
        await pilot.press("ctrl+l")  # and back to the prompt
        assert app.chat.prompt.has_focus
        await send(pilot, "fresh start")
        await wait_for(pilot, lambda: not app.chat.busy)
        new = app.chat.session.conversation_id
        assert new not in (None, old, other)
        assert list_ids(app) == [NEW_CHAT, new, other, old]
        # choosing "+ New chat" in the list also starts one
        await pilot.press("ctrl+l", "home", "enter")
        assert app.chat.session.conversation_id is None


async def test_delete_asks_then_deletes(engine, log):
    keep = add_conversation(log, "keep me", "ok")
    drop = add_conversation(log, "drop me", "ok")
    app = PersonalApp(engine, log, conversation_id=keep)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("ctrl+l", "home", "down")  # highlight "drop me" (newest)
        assert app.chat.query_one(ConversationList).highlighted_id == drop
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # declined: nothing happens
        assert not isinstance(app.screen, ConfirmScreen)
        assert {c.id for c in log.conversations()} == {keep, drop}
        await pilot.press("delete")
        await pilot.press("y")
        await pilot.pause()
        assert [c.id for c in log.conversations()] == [keep]
        assert list_ids(app) == [NEW_CHAT, keep]
        assert app.chat.session.conversation_id == keep  # the open one was not touched
        # ctrl+d from the prompt deletes the open conversation
        app.chat.prompt.focus()
        await pilot.press("ctrl+d", "y")
        await pilot.pause()
        assert log.conversations() == []
        assert app.chat.session.conversation_id is None and list_ids(app) == [NEW_CHAT]
        # nothing to delete in an unsaved chat: a notice, no dialog
        await pilot.press("ctrl+d")
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("Nothing to delete" in t for t in toasts(app))


async def test_status_bar_names_model_backend_adapter(engine, log):
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        text = app.chat.query_one(StatusBar).plain
        assert "model fake-model" in text and "backend fake" in text
        assert "adapter none" in text and "tok/s –" in text
        engine.attach_adapter(AdapterRef(id="rev-0003", path=Path("adapter.gguf")))
        await send(pilot, "hi")
        await wait_for(pilot, lambda: not app.chat.busy)
        assert "adapter rev-0003" in app.chat.query_one(StatusBar).plain
    assert log.messages(app.chat.session.conversation_id)[-1].adapter == "rev-0003"


async def test_engine_error_is_shown_and_app_keeps_working(log):
    engine = FlakyEngine(failures=1)
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "first")
        await wait_for(pilot, lambda: not app.chat.busy and app.chat.query(AssistantMessage))
        answer = app.chat.query_one(AssistantMessage)
        assert answer.status == "error" and answer.has_class("-error")
        assert any("the model fell over" in t and "try again" in t for t in toasts(app))
        await send(pilot, "second")
        await wait_for(
            pilot, lambda: not app.chat.busy and len(app.chat.query(AssistantMessage)) == 2
        )
        assert app.chat.query(AssistantMessage).last().source == "You said: second"
    statuses = [
        m.status for m in log.messages(app.chat.session.conversation_id) if m.role == "assistant"
    ]
    assert statuses == ["error", "complete"]


async def test_log_error_on_send_keeps_the_text(engine, log, monkeypatch):
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:

        def broken(text, params=None):
            raise LogError("the conversation log is busy", hint="try again")

        monkeypatch.setattr(app.chat.session, "start", broken)
        await send(pilot, "important words")
        await pilot.pause()
        assert app.chat.prompt.value == "important words" and not app.chat.busy
        assert any("log is busy" in t for t in toasts(app))
        assert not app.chat.query(AssistantMessage)


# --- commands ------------------------------------------------------------------------
def test_parse_commands():
    assert commands.parse("hello") == (None, "hello")
    assert commands.parse("/calc 1 + 2") == ("calc", "1 + 2")
    assert commands.parse("/Help") == ("help", "")
    assert commands.parse("/etc/hosts has what?") == (None, "/etc/hosts has what?")
    assert commands.parse("//calc is a command") == (None, "/calc is a command")


async def test_slash_command_dispatch(engine, log, monkeypatch):
    seen = []
    monkeypatch.setattr(commands, "COMMANDS", {})
    commands.command("echo", "say it back")(lambda app, arg: seen.append(arg))
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "/echo hi there")
        await pilot.pause()
        assert seen == ["hi there"] and engine.calls == []
        await send(pilot, "/nope")
        await pilot.pause()
        assert any("unknown command /nope" in t for t in toasts(app))
        assert app.chat.prompt.value == "/nope"


# --- run() ---------------------------------------------------------------------------
def test_run_reports_errors_without_traceback(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(conversation="zzzzzzzz", backend="fake")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "error:" in err and "hint:" in err and "Traceback" not in err


def test_run_opens_engine_runs_app_and_closes(monkeypatch, personal_home):
    ran, closed = [], []
    monkeypatch.setattr(PersonalApp, "run", lambda self: ran.append(self.engine.info.backend))
    monkeypatch.setattr(FakeEngine, "close", lambda self: closed.append(self))
    run(backend="fake")
    assert ran == ["fake"] and len(closed) == 1
    assert (personal_home / "log.db").exists()  # the default log, under PERSONAL_HOME


# --- a key while answering stops the answer ------------------------------------------------
async def _stopped_by_escape(pilot, app, engine, log, conv_id) -> None:
    """esc: the partial answer stays, marked interrupted; a second prompt was refused."""
    answer = app.chat.query_one(AssistantMessage)
    assert answer.source == "You "
    assert answer.status == "interrupted" and answer.has_class("-interrupted")
    assert "interrupted" in answer.border_subtitle
    assert (log.messages(conv_id)[-1].status, log.messages(conv_id)[-1].content) == (
        "interrupted", "You ")  # fmt: skip


async def _stopped_by_new_chat(pilot, app, engine, log, conv_id) -> None:
    assert app.chat.session.conversation_id is None
    assert app.cancel_generation(timeout=1)  # the worker has ended
    assert log.messages(conv_id)[-1].status == "interrupted"


async def _stopped_by_delete(pilot, app, engine, log, conv_id) -> None:
    await wait_for(pilot, lambda: conv_id not in {c.id for c in log.conversations()})
    assert app.chat.session.conversation_id is None
    await send(pilot, "next")  # and the app still chats
    engine.release()
    await wait_for(pilot, lambda: not app.chat.busy and app.chat.query(AssistantMessage))
    assert app.chat.query_one(AssistantMessage).source == "You said: next"


async def _stopped_by_switching(pilot, app, engine, log, conv_id) -> None:
    assert app.chat.session.conversation_id == pilot.other
    assert app.cancel_generation(timeout=1)
    assert log.messages(conv_id)[-1].status == "interrupted"


@pytest.mark.parametrize(
    "keys, then",
    [
        (("escape",), _stopped_by_escape),
        (("ctrl+n",), _stopped_by_new_chat),
        (("ctrl+d", "y"), _stopped_by_delete),
        (("ctrl+l", "down", "enter"), _stopped_by_switching),  # another conversation
        (("ctrl+q",), None),  # quitting: checked after the app has ended
    ],
    ids=["escape", "new-chat", "delete", "switch", "quit"],
)
async def test_a_key_while_answering_stops_the_answer(engine, log, keys, then):
    other = add_conversation(log, "An older question", "An older answer")
    engine.hold()
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        pilot.other = other
        await send(pilot, "Tell me a long story")
        await answer_started(pilot)
        assert app.chat.busy and "answering" in app.chat.query_one(StatusBar).plain
        # a second prompt while answering is refused, and stays in the input
        await send(pilot, "and another")
        assert app.chat.prompt.value == "and another" and len(engine.calls) == 1
        app.chat.prompt.value = ""
        conv_id = app.chat.session.conversation_id
        await pilot.press(*keys)
        if then is not None:
            await wait_for(pilot, lambda: not app.chat.busy)
            await then(pilot, app, engine, log, conv_id)
    if conv_id in {c.id for c in log.conversations()}:  # gone only when deleted
        assert log.messages(conv_id)[-1].status == "interrupted"

