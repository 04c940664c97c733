"""Feedback on answers: ratings, edits, regenerations and copies, and what history() sends."""

from __future__ import annotations

import io
import json

import pytest

from personal.errors import InvalidSignal, NotFound
from personal.log import AnswerState, Log, new_id
from personal.log.transfer import export_jsonl


def qa(log: Log, question: str = "What is rye?", answer: str = "A grain."):
    c = log.create_conversation()
    log.append(c.id, {"role": "system", "content": "Be brief."})
    log.append(c.id, {"role": "user", "content": question})
    return c, log.append(c.id, {"role": "assistant", "content": answer})


def test_a_fresh_answer_has_no_feedback(log):
    _, a = qa(log)
    assert log.answer_state(a.id) == AnswerState(None, None, False, None, False)


def test_a_later_rating_replaces_the_earlier(log):
    _, a = qa(log)
    log.rate(a.id, "up")
    log.rate(a.id, "down")
    assert log.answer_state(a.id).rating == "down"
    assert [(f["kind"], f["value"]) for f in log.feedback(a.id)] == [("rating", "down")]
    log.rate(a.id, None)  # cleared
    assert log.answer_state(a.id).rating is None and log.feedback(a.id) == []


def test_older_rating_values_are_understood(log):
    _, a = qa(log)
    log.add_feedback(a.id, "rating", "+1")
    assert log.answer_state(a.id).rating == "up"
    log.add_feedback(a.id, "rating", "-1")
    assert log.answer_state(a.id).rating == "down"


def test_an_edit_keeps_the_original_and_history_sends_the_edit(log):
    c, a = qa(log, answer="Rye is a grass.")
    log.edit_answer(a.id, "Rye is a cereal grain.")
    log.edit_answer(a.id, "Rye is a cereal grain, related to wheat.")  # the latest wins
    assert log.message(a.id).content == "Rye is a grass."
    state = log.answer_state(a.id)
    assert state.edited_text == "Rye is a cereal grain, related to wheat."
    assert log.history(c.id)[-1] == {"role": "assistant",
                                     "content": "Rye is a cereal grain, related to wheat."}  # fmt: skip
    assert log.search("grass")[0].message.id == a.id  # the original is still searchable


def test_regenerate_rejects_the_old_answer_and_history_moves_on(log):
    c, old = qa(log, answer="Rye is a grass.")
    log.rate(old.id, "down")
    log.regenerate_from(old.id)
    assert log.answer_state(old.id).rejected
    assert log.answer_state(old.id).replaced_by is None  # nothing replaced it yet
    assert log.history(c.id)[-1] == {"role": "user", "content": "What is rye?"}
    new = log.append(c.id, {"role": "assistant", "content": "Rye is a cereal grain."})
    assert log.answer_state(old.id) == AnswerState("down", None, True, new.id, False)
    assert [m["content"] for m in log.history(c.id)] == [
        "Be brief.", "What is rye?", "Rye is a cereal grain."]  # fmt: skip
    # the rejected answer stays in the log and the export: a negative example
    assert [m.id for m in log.messages(c.id)][-2:] == [old.id, new.id]
    out = io.StringIO()
    export_jsonl(log, out)
    exported = json.loads(out.getvalue())["messages"][2]
    assert exported["content"] == "Rye is a grass."
    regen = [f for f in exported["personal"]["feedback"] if f["kind"] == "regenerate"]
    assert regen[0]["meta"] == {"replaced_by": new.id}


def test_regenerating_twice_links_each_to_its_replacement(log):
    c, first = qa(log)
    log.regenerate_from(first.id)
    second = log.append(c.id, {"role": "assistant", "content": "A cereal."})
    log.regenerate_from(second.id)
    third = log.append(c.id, {"role": "assistant", "content": "A cereal grain."})
    assert log.answer_state(first.id).replaced_by == second.id
    assert log.answer_state(second.id).replaced_by == third.id
    assert log.history(c.id)[-1]["content"] == "A cereal grain."
    assert set(log.answer_states(c.id)) == {first.id, second.id}


def test_regenerate_with_an_explicit_replacement(log):
    _, old = qa(log)
    log.regenerate_from(old.id, replaced_by="somewhere-else")
    assert log.answer_state(old.id).replaced_by == "somewhere-else"


def test_a_rejected_tool_call_takes_its_results_out_of_history(log):
    c = log.create_conversation()
    log.append(c.id, {"role": "user", "content": "time?"})
    calls = [{"id": "t1", "type": "function", "function": {"name": "now", "arguments": "{}"}}]
    call = log.append(c.id, {"role": "assistant", "content": None, "tool_calls": calls})
    log.append(c.id, {"role": "tool", "content": "noon", "tool_call_id": "t1", "name": "now"})
    answer = log.append(c.id, {"role": "assistant", "content": "It is noon."})
    log.regenerate_from(answer.id)  # only the final answer: the tool result is reused
    assert [m["role"] for m in log.history(c.id)] == ["user", "assistant", "tool"]
    log.regenerate_from(call.id)  # from the call on: the call, its result, the answer
    assert log.history(c.id) == [{"role": "user", "content": "time?"}]
    assert log.answer_state(call.id).rejected
    assert [f["kind"] for f in log.feedback(answer.id)] == ["regenerate"]  # not twice
    new = log.append(c.id, {"role": "assistant", "content": "Noon."})
    assert log.answer_state(call.id).replaced_by == new.id


def test_only_the_latest_answer_can_be_regenerated(log):
    c, a = qa(log)
    log.append(c.id, {"role": "user", "content": "and spelt?"})
    with pytest.raises(InvalidSignal) as e:
        log.regenerate_from(a.id)
    assert e.value.hint
    assert log.feedback(a.id) == []


def test_copy_is_recorded(log):
    _, a = qa(log)
    log.mark_copied(a.id)
    assert log.answer_state(a.id).copied
    assert [(f["kind"], f["value"]) for f in log.feedback(a.id)] == [("copy", None)]


@pytest.mark.parametrize(
    "act",
    [
        lambda log, m: log.rate(m, "up"),
        lambda log, m: log.edit_answer(m, "x"),
        lambda log, m: log.regenerate_from(m),
        lambda log, m: log.mark_copied(m),
    ],
)
def test_feedback_is_for_answers_only(log, act):
    c, _ = qa(log)
    question = log.messages(c.id)[1]
    with pytest.raises(InvalidSignal):
        act(log, question.id)
    with pytest.raises(NotFound):
        act(log, new_id())
    assert log.feedback(question.id) == []


def test_bad_ratings_and_empty_edits_are_refused(log):
    _, a = qa(log)
    for bad in ("+1", "meh", 1):
        with pytest.raises(InvalidSignal):
            log.rate(a.id, bad)
    with pytest.raises(InvalidSignal):
        log.edit_answer(a.id, "   ")
    assert log.feedback(a.id) == []


def test_an_edited_empty_answer_is_sent(log):
    c = log.create_conversation()
    log.append(c.id, {"role": "user", "content": "hi"})
    a = log.append(c.id, {"role": "assistant", "content": ""}, status="interrupted")
    assert log.history(c.id) == [{"role": "user", "content": "hi"}]
    log.edit_answer(a.id, "Hello!")
    assert log.history(c.id)[-1] == {"role": "assistant", "content": "Hello!"}
