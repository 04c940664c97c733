"""API traffic in the chat log: one conversation per client conversation, provenance,
preferences, tool rounds, regenerations, --no-log, and a client that hangs up."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from personal.prefs.preferences import Preferences
from personal.server.app import create_app
from tests.live import LOCAL, fake_runtime, running

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}  # fmt: skip


@pytest.fixture
def runtime(log):
    rt = fake_runtime(log)
    yield rt
    rt.engine.release()
    rt.close()


@pytest.fixture
def client(runtime):
    with TestClient(create_app(runtime), base_url=LOCAL) as c:
        yield c


def ask(client, messages, **body):
    r = client.post(
        "/v1/chat/completions", json={"model": "personal", "messages": messages, **body}
    )
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["message"]


def shape(log, conversation_id):
    return [(m.role, m.content, m.status) for m in log.messages(conversation_id)]


def test_a_client_that_resends_its_history_is_one_conversation(client, log):
    history = [{"role": "user", "content": "first"}]
    for turn in ("second", "third"):
        history += [ask(client, history), {"role": "user", "content": turn}]
    ask(client, history)
    (conv,) = log.conversations()
    assert conv.source == "api"
    assert [(r, c) for r, c, _ in shape(log, conv.id)] == [
        ("system", "You are a helpful, concise assistant. Answer the question directly."),
        ("user", "first"), ("assistant", "You said: first"),
        ("user", "second"), ("assistant", "You said: second"),
        ("user", "third"), ("assistant", "You said: third")]  # fmt: skip
    answer = log.messages(conv.id)[-1]
    assert answer.model == "fake-model" and answer.backend == "fake" and answer.status == "complete"
    assert answer.completion_tokens == 3 and answer.duration_ms is not None
    assert answer.meta["api"]["model"] == "personal"


def test_two_clients_with_the_same_first_message_are_two_conversations(client, log):
    ask(client, [{"role": "user", "content": "hi"}])
    ask(client, [{"role": "user", "content": "hi"}])
    assert len(log.conversations()) == 2


def test_asking_again_for_the_last_answer_rejects_the_old_one(client, runtime, log):
    history = [{"role": "user", "content": "one"}]
    history += [ask(client, history), {"role": "user", "content": "two"}]
    runtime.engine.enqueue("a poor answer")
    ask(client, history)
    runtime.engine.enqueue("a better answer")
    ask(client, history)  # the client's regenerate: the same history again
    (conv,) = log.conversations()
    assert [m["content"] for m in log.history(conv.id)][-2:] == ["two", "a better answer"]
    old = next(m for m in log.messages(conv.id) if m.content == "a poor answer")
    assert log.answer_state(old.id).rejected


def test_an_edited_earlier_turn_starts_a_new_conversation(client, log):
    history = [{"role": "user", "content": "one"}]
    history += [ask(client, history), {"role": "user", "content": "two"}]
    history += [ask(client, history), {"role": "user", "content": "three"}]
    ask(client, history[:2] + [{"role": "user", "content": "two, edited"}])
    first, second = sorted(log.conversations(), key=lambda c: c.created_at)
    assert second.meta["branched_from"] == first.id
    assert [c for _, c, _ in shape(log, second.id)][-2:] == ["two, edited", "You said: two, edited"]


def test_a_stated_preference_is_extracted_as_in_the_chat(client, log):
    ask(client, [{"role": "user", "content": "Call me Sam. What is 2+2?"}])
    prefs = Preferences(log).list()
    assert [p.text for p in prefs] == ["Call the user Sam."] and prefs[0].origin == "extracted"


def test_client_tool_calls_and_results_join_the_conversation(client, runtime, log):
    runtime.engine.enqueue('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}'
                           "\n</tool_call>", "It is sunny in Oslo.")  # fmt: skip
    history = [{"role": "user", "content": "Weather in Oslo?"}]
    call = ask(client, history, tools=[WEATHER])
    history += [call, {"role": "tool", "tool_call_id": call["tool_calls"][0]["id"],
                       "content": "sunny"}]  # fmt: skip
    ask(client, history, tools=[WEATHER])
    (conv,) = log.conversations()
    messages = log.messages(conv.id)
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert messages[2].tool_calls[0]["id"] == call["tool_calls"][0]["id"]
    assert messages[2].meta["api"]["client_tools"] == ["get_weather"]


def test_server_side_tool_rounds_are_logged_like_the_chat(client, runtime, log):
    runtime.engine.enqueue('<tool_call>\n{"name": "calc", "arguments": {"expression": "6*7"}}'
                           "\n</tool_call>", "It is 42.")  # fmt: skip
    history = [{"role": "user", "content": "6*7?"}]
    history += [ask(client, history), {"role": "user", "content": "thanks"}]
    ask(client, history)
    (conv,) = log.conversations()
    assert [(m.role, m.content) for m in log.messages(conv.id)][1:] == [
        ("user", "6*7?"), ("assistant", ""), ("tool", "42"), ("assistant", "It is 42."),
        ("user", "thanks"), ("assistant", "You said: thanks")]  # fmt: skip


def test_a_note_the_server_keeps_comes_from_its_question_and_is_forgotten_with_it(
        client, runtime, log):  # fmt: skip
    from personal.log.notes import Notes

    runtime.engine.enqueue('<tool_call>\n{"name": "remember", "arguments": {"text": "PIN 4921"}}'
                           "\n</tool_call>", "Noted.")  # fmt: skip
    ask(client, [{"role": "user", "content": "remember my PIN 4921"}])
    (conv,) = log.conversations()
    question = next(m for m in log.messages(conv.id) if m.role == "user")
    (note,) = Notes(log).list()
    assert note.source_message_id == question.id
    log.forget(conv.id)
    assert Notes(log).list() == []


def test_no_log_records_nothing(tmp_path):
    from personal.log import Log

    rt = fake_runtime(None)
    try:
        with TestClient(create_app(rt), base_url=LOCAL) as c:
            ask(c, [{"role": "user", "content": "Call me Sam."}])
            assert c.get("/health").json()["logging"] is False
        with Log() as log:
            assert log.conversations() == [] and Preferences(log).list() == []
    finally:
        rt.close()


def test_a_client_that_hangs_up_mid_stream_cancels_and_is_logged_interrupted(log):
    rt = fake_runtime(log)
    rt.engine.delay = 0.02
    rt.engine.enqueue(" ".join(["word"] * 500))
    try:
        with running(rt) as url:
            conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=10)
            body = {"model": "personal", "stream": True,
                    "messages": [{"role": "user", "content": "talk"}]}  # fmt: skip
            conn.request("POST", "/v1/chat/completions", json.dumps(body),
                         {"Content-Type": "application/json"})  # fmt: skip
            response = response_start = conn.getresponse()
            assert response_start.status == 200
            response.read(2000)  # a few chunks, then hang up
            conn.sock.close()
            conn.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                answers = [m for c in log.conversations() for m in log.messages(c.id)
                           if m.role == "assistant"]  # fmt: skip
                if answers and answers[0].status != "streaming":
                    break
                time.sleep(0.05)
            assert answers[0].status == "interrupted"
            assert 0 < answers[0].completion_tokens < 100  # stopped between tokens, early
            assert rt.handler.queue.stats().running is False
            conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=10)  # still serving
            conn.request("GET", "/health")
            assert conn.getresponse().status == 200
    finally:
        rt.close()


def _post(netloc: str, body: dict) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(netloc, timeout=10)
    conn.request("POST", "/v1/chat/completions", json.dumps(body),
                 {"Content-Type": "application/json"})  # fmt: skip
    return conn


def _wait(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_hanging_up_on_a_non_streamed_answer_or_in_the_queue_cancels_it(log):
    rt = fake_runtime(log)
    rt.engine.delay = 0.02
    rt.engine.enqueue(" ".join(["word"] * 500))
    try:
        with running(rt) as url:
            netloc = urlsplit(url).netloc
            first = _post(
                netloc, {"model": "personal", "messages": [{"role": "user", "content": "a"}]}
            )
            _wait(lambda: rt.handler.queue.stats().running)
            queued = _post(
                netloc, {"model": "personal", "messages": [{"role": "user", "content": "b"}]}
            )
            _wait(lambda: rt.handler.queue.stats().waiting == 1)
            queued.sock.close()  # leaves the line: never generated, never logged
            _wait(lambda: rt.handler.queue.stats().waiting == 0)
            time.sleep(0.3)
            first.sock.close()  # a non-streamed answer in progress
            _wait(lambda: not rt.handler.queue.stats().running)
            (conv,) = log.conversations()
            answer = log.messages(conv.id)[-1]
            _wait(lambda: log.message(answer.id).status != "streaming")
            assert log.message(answer.id).status == "interrupted"
            assert [m.content for m in log.messages(conv.id) if m.role == "user"] == ["a"]
    finally:
        rt.close()
