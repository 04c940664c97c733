"""ChatSession: every turn logged, partial answers kept, whatever ends the stream."""

from __future__ import annotations

import threading

import pytest

from personal.chat.session import ChatSession
from personal.engine.fake import FakeEngine
from personal.errors import EngineError


def test_a_turn_is_logged_with_its_provenance(log):
    engine = FakeEngine(model="tiny")
    engine.enqueue("Paris is the capital.")
    session = ChatSession(engine, log, system_prompt="Be brief.")
    assert "".join(session.send("Capital of France?")) == "Paris is the capital."
    msgs = log.messages(session.conversation_id)
    assert [m.role for m in msgs] == ["system", "user", "assistant"]
    answer = msgs[-1]
    assert (answer.content, answer.status, answer.model, answer.backend) == (
        "Paris is the capital.", "complete", "tiny", "fake")  # fmt: skip
    assert answer.adapter is None and answer.model_fingerprint == "0" * 64
    assert answer.completion_tokens == 4 and answer.duration_ms is not None
    assert engine.calls[0] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]


def test_continuing_a_conversation_sends_its_history(log):
    engine = FakeEngine()
    first = ChatSession(engine, log)
    list(first.send("one"))
    again = ChatSession(engine, log, first.conversation_id[:8])
    list(again.send("two"))
    roles = [m["role"] for m in engine.calls[-1]]
    assert roles == ["system", "user", "assistant", "user"]
    assert engine.calls[-1][2]["content"] == "You said: one"


def test_cancel_keeps_the_partial_answer_as_interrupted(log):
    engine = FakeEngine()
    engine.enqueue("one two three four five")
    engine.hold()
    session = ChatSession(engine, log)
    turn = session.start("count")
    pieces = []
    for piece in session.run(turn):
        pieces.append(piece)
        threading.Timer(0.05, turn.cancel).start()
    msg = log.message(turn.assistant_id)
    assert msg.status == "interrupted" and msg.content == "one " == "".join(pieces)
    assert msg.meta["finish_reason"] == "cancelled"


def test_ctrl_c_mid_stream_keeps_the_partial_answer(log):
    engine = FakeEngine()
    engine.enqueue("alpha beta gamma")
    session = ChatSession(engine, log)
    turn = session.start("go")
    with pytest.raises(KeyboardInterrupt):
        for i, _ in enumerate(session.run(turn)):
            if i == 1:
                raise KeyboardInterrupt
    msg = log.message(turn.assistant_id)
    assert (msg.status, msg.content) == ("interrupted", "alpha beta ")


def test_an_abandoned_stream_is_interrupted_not_lost(log):
    engine = FakeEngine()
    engine.enqueue("alpha beta gamma")
    session = ChatSession(engine, log)
    turn = session.start("go")
    it = session.run(turn)
    next(it)
    it.close()
    assert log.message(turn.assistant_id).status == "interrupted"
    list(session.send("still works"))  # the engine lock was released


class Broken(FakeEngine):
    def _generate(self, messages, params, cancel):
        yield "half"
        raise EngineError("the engine fell over", hint="try again")


def test_an_engine_error_is_logged_as_error_and_the_user_turn_is_kept(log):
    session = ChatSession(Broken(), log)
    with pytest.raises(EngineError):
        list(session.send("hello"))
    user, answer = log.messages(session.conversation_id)[1:]
    assert user.content == "hello" and user.status == "complete"
    assert (answer.status, answer.content) == ("error", "half")
    assert [m["role"] for m in log.history(session.conversation_id)] == ["system", "user"]


def test_long_answers_are_saved_while_streaming(log, monkeypatch):
    monkeypatch.setattr("personal.chat.session.FLUSH_SECONDS", 0.0)
    engine = FakeEngine()
    engine.enqueue("a b c d")
    session = ChatSession(engine, log)
    turn = session.start("go")
    seen = []
    for piece in session.run(turn):
        seen.append(piece)
        if len(seen) == 3:
            assert log.message(turn.assistant_id).content == "a b "  # flushed so far
            assert log.message(turn.assistant_id).status == "streaming"
    assert log.message(turn.assistant_id).content == "a b c d"


def test_stated_preferences_are_extracted_with_their_source(log):
    session = ChatSession(FakeEngine(), log)
    list(session.send("From now on, call me Sam."))
    assert [p.text for p in session.preferences_found] == ["Call the user Sam."]
    from personal.prefs.preferences import Preferences

    (pref,) = Preferences(log).list()
    user = log.messages(session.conversation_id)[1]
    assert pref.source_message_id == user.id and pref.checker == {"type": "name", "name": "Sam"}


def test_regenerate_keeps_the_old_answer_as_rejected(log):
    engine = FakeEngine()
    engine.enqueue("first try", "second try")
    session = ChatSession(engine, log)
    list(session.send("hello"))
    old = log.messages(session.conversation_id)[-1]
    turn = session.regenerate()
    assert "".join(session.run(turn)) == "second try"
    assert log.answer_state(old.id).rejected
    assert [m["content"] for m in log.history(session.conversation_id)][1:] == ["hello", "second try"]
    assert engine.calls[-1][-1] == {"role": "user", "content": "hello"}  # not shown the rejected one
    assert old.content == "first try" and len(log.messages(session.conversation_id)) == 4


def test_regenerate_with_nothing_to_regenerate_creates_nothing(log):
    from personal.errors import InvalidSignal

    session = ChatSession(FakeEngine(), log)
    with pytest.raises(InvalidSignal):
        session.regenerate()
    assert session.conversation_id is None and log.conversations() == []
