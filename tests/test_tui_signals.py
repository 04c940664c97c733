"""The chat UI's signals: tool commands and tool calls, feedback keys on answers,
preference notices, and all of it shown again when a conversation is reopened.
FakeEngine, a real log and the real tool registry, in tmp_path."""

from __future__ import annotations

import pytest

from personal.chat.session import ChatSession
from personal.engine.toolcall import render_call
from personal.tools import Tool, load_registry, params
from tests.test_chat_tools import shape
from tests.test_tui import SIZE, send, toasts, wait_for
from tui.app import PersonalApp
from tui.confirm import ConfirmScreen
from tui.edit_answer import EditAnswerScreen
from tui.help_screen import HelpScreen
from tui.widgets import AssistantMessage, ChatView, ToolLine

pytestmark = pytest.mark.anyio


@pytest.fixture
def engine(fake_engine):
    return fake_engine


@pytest.fixture
def tools(log):
    return load_registry(log, strict=False)


def answers(app) -> list[AssistantMessage]:
    return list(app.chat.query(AssistantMessage))


async def ask(pilot, text: str) -> None:
    """Send `text` and wait for the whole turn (tools included) to end."""
    await send(pilot, text)
    await wait_for(pilot, lambda: not pilot.app.chat.busy)


# --- tools -----------------------------------------------------------------------------
async def test_tool_command_runs_then_the_answer_streams(engine, log, tools):
    engine.enqueue("17 times 23 is 391.")
    app = PersonalApp(engine, log, tools=tools)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, "/calc 17*23")
        assert app.chat.query_one(ToolLine).plain == "⚙ calc(17*23) → 391"
        assert [a.source for a in answers(app)] == ["17 times 23 is 391."]
        conv = app.chat.session.conversation_id
    assert shape(log, conv) == [
        ("user", "/calc 17*23"),
        ("assistant", "", ["calc"]),
        ("tool", "391"),
        ("assistant", "17 times 23 is 391."),
    ]


async def test_a_call_the_model_makes_is_shown_between_its_answers(engine, log, tools):
    engine.enqueue("Let me compute. " + render_call("calc", {"expression": "17*23"}), "It is 391.")
    app = PersonalApp(engine, log, tools=tools)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, "What is 17*23?")
        kinds = [type(w).__name__ for w in app.chat.chat_view.children]
        assert kinds == ["UserMessage", "AssistantMessage", "ToolLine", "AssistantMessage"]
        assert [a.source for a in answers(app)] == ["Let me compute. ", "It is 391."]
        assert all(a.status == "complete" for a in answers(app))
        assert app.chat.query_one(ToolLine).plain == "⚙ calc(17*23) → 391"
        # a failing call is shown in red, the chat goes on
        engine.enqueue(render_call("calc", {"expression": "1/0"}), "Cannot divide by zero.")
        await ask(pilot, "And 1/0?")
        failed = app.chat.query(ToolLine).last()
        assert failed.has_class("-error") and "✗ division by zero" in failed.plain
        assert answers(app)[-1].source == "Cannot divide by zero."
        assert len(answers(app)) == 3  # the call-only answer has no text: not shown


async def test_unknown_command_or_bad_arguments_send_nothing(engine, log, tools):
    app = PersonalApp(engine, log, tools=tools)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "/nope 1")
        await pilot.pause()
        assert any("unknown command /nope" in t and "/calc" in t for t in toasts(app))
        assert app.chat.prompt.value == "/nope 1"
        await send(pilot, "/convert_units 5 km")
        await pilot.pause()
        assert any("usage: /convert_units value=<number>" in t for t in toasts(app))
        assert app.chat.prompt.value == "/convert_units 5 km"
        assert not app.chat.busy and not answers(app) and not app.chat.query(ToolLine)
    assert engine.calls == [] and log.conversations() == []


def post_tool(posted: list) -> Tool:
    """A tool with side effects (the person confirms each call)."""

    def run(args: dict) -> str:
        posted.append(args["text"])
        return "posted"

    schema = params(["text"], text={"type": "string"})
    return Tool("post", "Post a message to the team.", schema, run, side_effects=True)


async def test_a_tool_with_side_effects_asks_first(engine, log, tools):
    posted: list[str] = []
    tools.register(post_tool(posted))
    app = PersonalApp(engine, log, tools=tools)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "/post hello team")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "post" in str(app.screen.query_one("#question").content)
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.chat.busy)
        assert posted == ["hello team"]
        assert app.chat.query(ToolLine).last().plain == "⚙ post(hello team) → posted"
        await send(pilot, "/post never mind")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # no is the default
        await wait_for(pilot, lambda: not app.chat.busy)
        assert posted == ["hello team"]
        line = app.chat.query(ToolLine).last()
        assert line.has_class("-error") and "declined" in line.plain
    results = [m for m in log.messages(app.chat.session.conversation_id) if m.role == "tool"]
    assert [m.meta["ok"] for m in results] == [True, False]


async def test_quitting_while_a_tool_asks_declines_it(engine, log, tools):
    posted: list[str] = []
    tools.register(post_tool(posted))
    engine.enqueue(render_call("post", {"text": "hi"}), "never said")
    app = PersonalApp(engine, log, tools=tools)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "Tell the team hi")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        conv = app.chat.session.conversation_id
        await pilot.press("ctrl+q")
    assert app.cancel_generation(timeout=1) and posted == []
    assert [m.role for m in log.messages(conv)] == ["system", "user", "assistant", "tool"]


async def test_help_and_prefs_open_while_answering(engine, log):
    engine.hold()
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "a long answer")
        await wait_for(pilot, lambda: app.chat.busy and answers(app)[0].source)
        await send(pilot, "/help")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await send(pilot, "another question")  # refused: it stays in the prompt
        assert app.chat.prompt.value == "another question" and len(engine.calls) == 1
        engine.release()
        await wait_for(pilot, lambda: not app.chat.busy)


# --- feedback --------------------------------------------------------------------------
async def test_rating_keys_toggle_and_persist(engine, log):
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, "one")
        await ask(pilot, "two")
        first, second = answers(app)
        await pilot.press("plus")  # typed into the prompt: not a rating
        assert app.chat.prompt.value == "+" and log.answer_state(second.message_id).rating is None
        app.chat.prompt.value = ""
        await pilot.press("escape")  # to the answers: the last one is selected
        assert app.chat.query_one(ChatView).has_focus and second.has_class("-selected")
        await pilot.press("plus")
        assert log.answer_state(second.message_id).rating == "up"
        assert second.has_class("-rated-up") and "▲ good" in second.border_subtitle
        await pilot.press("plus")  # again: taken back
        assert log.answer_state(second.message_id).rating is None and not second.border_subtitle
        await pilot.press("minus")
        assert log.answer_state(second.message_id).rating == "down"
        await pilot.press("up", "minus")  # the earlier answer
        assert first.has_class("-selected") and not second.has_class("-selected")
        assert log.answer_state(first.message_id).rating == "down"
        await pilot.press("escape")  # back to the prompt
        assert app.chat.prompt.has_focus
        await pilot.press("alt+up")  # straight to the answers, selection kept
        assert app.chat.query_one(ChatView).has_focus and first.has_class("-selected")


async def test_regenerate_keeps_the_rejected_answer_out_of_history(engine, log):
    engine.enqueue("first try", "second try")
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, "question")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(answers(app)) == 2 and not app.chat.busy)
        old, new = answers(app)
        assert old.has_class("-rejected") and "rejected" in old.border_subtitle
        assert (old.source, new.source) == ("first try", "second try")
        assert new.has_class("-selected") and not new.has_class("-rejected")
        state = log.answer_state(old.message_id)
        assert state.rejected and state.replaced_by == new.message_id
        await ask(pilot, "next")
    assert [m["content"] for m in engine.calls[-1][1:]] == ["question", "second try", "next"]


async def test_edit_is_saved_and_shown_with_the_original_at_hand(engine, log):
    engine.enqueue("The capital is Lyon.")
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, "Capital of France?")
        await pilot.press("escape", "e")
        assert isinstance(app.screen, EditAnswerScreen)
        editor = app.screen.query_one("#editor")
        assert editor.text == "The capital is Lyon."
        editor.text = "The capital is Paris."
        await pilot.press("ctrl+s")
        answer = answers(app)[0]
        assert log.answer_state(answer.message_id).edited_text == "The capital is Paris."
        assert answer.source == "The capital is Paris." and "edited" in answer.border_subtitle
        await pilot.press("o")  # what the model wrote
        assert answer.source == "The capital is Lyon." and "original" in answer.border_subtitle
        await pilot.press("o")
        assert answer.source == "The capital is Paris."
        await pilot.press("e", "escape")  # cancelled: nothing more recorded
        assert len([f for f in log.feedback(answer.message_id) if f["kind"] == "edit"]) == 1
        await pilot.press("escape")
        await ask(pilot, "Sure?")
    assert engine.calls[-1][2]["content"] == "The capital is Paris."  # the model sees the edit


async def test_copy_puts_the_answer_on_the_clipboard_and_marks_it(engine, log):
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, "hello")
        await pilot.press("ctrl+y")  # from the prompt too
        answer = answers(app)[0]
        assert app.clipboard == "You said: hello"
        assert log.answer_state(answer.message_id).copied
        assert any("Copied" in t for t in toasts(app))


async def test_a_stated_preference_is_noted(engine, log):
    app = PersonalApp(engine, log)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, "From now on, call me Sam.")
        assert any("Noted preference: Call the user Sam. (/prefs to review)" in t
                   for t in toasts(app))  # fmt: skip


async def test_reopening_shows_tools_ratings_edits_and_rejections(engine, log, tools):
    engine.enqueue(render_call("calc", {"expression": "6*7"}), "It is 42.", "Rejected one.",
                   "Kept one.")  # fmt: skip
    session = ChatSession(engine, log, tools=tools)
    list(session.events(session.start("What is 6*7?")))
    list(session.events(session.start("Tell me more")))
    list(session.events(session.regenerate()))
    ids = [m.id for m in log.messages(session.conversation_id) if m.role == "assistant"]
    log.rate(ids[1], "up")
    log.edit_answer(ids[1], "It is **42**.")
    log.rate(ids[2], "down")
    app = PersonalApp(engine, log, conversation_id=session.conversation_id, tools=tools)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert app.chat.query_one(ToolLine).plain == "⚙ calc(6*7) → 42"
        shown = answers(app)
        assert [a.message_id for a in shown] == ids[1:]  # the call-only message: its line
        assert shown[0].source == "It is **42**." and shown[0].original == "It is 42."
        assert "▲ good" in shown[0].border_subtitle and "edited" in shown[0].border_subtitle
        assert shown[1].has_class("-rejected") and "▼ bad" in shown[1].border_subtitle
        assert not shown[2].has_class("-rejected") and shown[2].has_class("-selected")


async def test_help_lists_commands_tools_and_keys(engine, log, tools):
    app = PersonalApp(engine, log, tools=tools)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "/help")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        for words in ("/prefs", "/calc <expression>", "/remember <text>", "ctrl+r", "alt+↑"):
            assert words in app.screen.text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen) and engine.calls == []


async def test_tools_left_out_of_the_registry_are_a_warning(engine, log, tools):
    tools.problems.append("tools.toml:3: tool 'weather': field 'timeout' must be a number")
    app = PersonalApp(engine, log, tools=tools)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert any("left out" in t and "'weather'" in t for t in toasts(app))
