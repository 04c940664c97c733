"""Tools in a chat: model-initiated and explicit calls, logged identically; failures
(malformed calls, unknown tools, bad arguments, hangs, declined side effects) never end
the conversation."""

from __future__ import annotations

import time

import pytest

from personal.chat.events import AnswerStarted, TextDelta, ToolCalled, ToolProblem, ToolReturned
from personal.chat.session import MAX_TOOL_ROUNDS, ChatSession
from personal.engine.fake import FakeEngine
from personal.engine.toolcall import OPEN, render_call
from personal.errors import ToolArgumentError, UnknownTool
from personal.tools import Tool, ToolRegistry, load_registry


def session(log, engine, **kw):
    return ChatSession(engine, log, tools=kw.pop("tools", None) or load_registry(log), **kw)


def shape(log, conv):
    out = []
    for m in log.messages(conv)[1:]:
        calls = [c["function"]["name"] for c in m.tool_calls or []]
        out.append((m.role, m.content, calls) if calls else (m.role, m.content))
    return out


def test_a_call_the_model_makes_runs_and_the_answer_continues(log):
    engine = FakeEngine()
    engine.enqueue("Let me compute. " + render_call("calc", {"expression": "17*23"}), "It is 391.")
    s = session(log, engine)
    events = list(s.events(s.start("What is 17*23?")))
    kinds = [type(e).__name__ for e in events if not isinstance(e, TextDelta)]
    assert kinds == ["ToolCalled", "ToolReturned", "AnswerStarted"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me compute. It is 391."
    assert shape(log, s.conversation_id) == [
        ("user", "What is 17*23?"),
        ("assistant", "Let me compute. ", ["calc"]),
        ("tool", "391"),
        ("assistant", "It is 391."),
    ]
    second_prompt = engine.calls[1]
    assert second_prompt[-1] == {"role": "tool", "content": "391"}
    assert "calc" in second_prompt[-2]["content"]  # the call, rendered in the shared format
    tool_msg = log.messages(s.conversation_id)[3]
    assert tool_msg.tool_call_id == log.messages(s.conversation_id)[2].tool_calls[0]["id"]
    assert tool_msg.meta["ok"] is True


def test_an_explicit_invocation_is_logged_like_a_model_call(log):
    engine = FakeEngine()
    engine.enqueue("17 times 23 is 391.")
    s = session(log, engine)
    events = list(s.events(s.invoke("/calc 17*23")))
    assert isinstance(events[0], ToolCalled) and events[0].call.arguments == {"expression": "17*23"}
    assert isinstance(events[1], ToolReturned) and events[1].result.content == "391"
    assert isinstance(events[2], AnswerStarted)
    assert shape(log, s.conversation_id) == [
        ("user", "/calc 17*23"),
        ("assistant", "", ["calc"]),
        ("tool", "391"),
        ("assistant", "17 times 23 is 391."),
    ]
    assert log.messages(s.conversation_id)[2].meta["invoked_by"] == "user"
    assert "Available tools:" not in engine.calls[0][0]["content"]  # the user chose the tool


def test_bad_explicit_invocations_are_typed_errors(log):
    s = session(log, FakeEngine())
    with pytest.raises(UnknownTool, match="nope"):
        s.invoke("/nope 1")
    with pytest.raises(ToolArgumentError):
        s.invoke("/date_add date=tomorrow days=many")


def test_a_malformed_call_is_reported_and_the_conversation_goes_on(log):
    engine = FakeEngine()
    engine.enqueue("Hmm " + OPEN + '\n{"name": calc}\n</tool_call>', "fine")
    s = session(log, engine)
    events = list(s.events(s.start("17*23?")))
    problems = [e for e in events if isinstance(e, ToolProblem)]
    assert problems and "not valid JSON" in problems[0].errors[0]
    answer = log.messages(s.conversation_id)[-1]
    assert answer.content == "Hmm " and answer.status == "complete"
    assert answer.meta["tool_errors"] and not answer.tool_calls
    assert "".join(s.send("next")) == "fine"


@pytest.mark.parametrize(
    "call,error",
    [
        (render_call("launch_rockets", {}), "launch_rockets"),
        (render_call("date_add", {"date": "today", "days": "many"}), "days"),
    ],
)
def test_unknown_tools_and_wrong_arguments_come_back_to_the_model(log, call, error):
    engine = FakeEngine()
    engine.enqueue(call, "Sorry, that did not work.")
    s = session(log, engine)
    list(s.events(s.start("do it")))
    tool_msg = [m for m in log.messages(s.conversation_id) if m.role == "tool"][0]
    assert tool_msg.content.startswith("error:") and error in tool_msg.content
    assert tool_msg.meta["ok"] is False
    assert log.messages(s.conversation_id)[-1].content == "Sorry, that did not work."


def test_a_hanging_tool_times_out(log):
    hang = Tool("hang", "Never returns.", {"type": "object", "properties": {}},
                run=lambda args: time.sleep(30) or "", timeout=0.3)  # fmt: skip
    engine = FakeEngine()
    engine.enqueue(render_call("hang", {}), "It timed out.")
    s = session(log, engine, tools=ToolRegistry([hang]))
    t0 = time.monotonic()
    list(s.events(s.start("go")))
    assert time.monotonic() - t0 < 5
    tool_msg = [m for m in log.messages(s.conversation_id) if m.role == "tool"][0]
    assert "did not finish" in tool_msg.content


def test_side_effect_tools_need_a_yes(log):
    ran = []
    launch = Tool("launch", "Side effects.", {"type": "object", "properties": {}},
                  run=lambda args: ran.append(1) or "launched", side_effects=True)  # fmt: skip
    for answer, expected in ((False, []), (True, [1])):
        engine = FakeEngine()
        engine.enqueue(render_call("launch", {}), "ok")
        asked = []
        s = session(log, engine, tools=ToolRegistry([launch]),
                    confirm=lambda tool, args, asked=asked, answer=answer: asked.append(tool.name) or answer)  # fmt: skip
        list(s.events(s.start("launch it")))
        assert asked == ["launch"] and ran == expected
    ran.clear()
    engine = FakeEngine()
    engine.enqueue(render_call("launch", {}), "ok")
    s = session(log, engine, tools=ToolRegistry([launch]))  # no confirm callback: declined
    list(s.events(s.start("launch it")))
    assert ran == []


def test_tool_rounds_are_bounded(log):
    engine = FakeEngine()
    engine.enqueue(*[render_call("calc", {"expression": "1+1"})] * 10)
    s = session(log, engine)
    list(s.events(s.start("loop")))
    assert len([m for m in log.messages(s.conversation_id) if m.role == "tool"]) == MAX_TOOL_ROUNDS
    assert "Available tools:" not in engine.calls[-1][0]["content"]  # last answer: no tools


def test_cancel_during_a_tool_turn_stops_the_loop(log):
    engine = FakeEngine()
    engine.enqueue(render_call("calc", {"expression": "1+1"}), "never")
    s = session(log, engine)
    turn = s.start("x")
    for event in s.events(turn):
        if isinstance(event, ToolCalled):
            turn.cancel()
    last = log.messages(s.conversation_id)[-1]
    assert last.role == "tool" and last.content == "error: cancelled by the user"
    assert len(engine.calls) == 1  # no answer was started after the cancel
