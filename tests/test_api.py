"""The OpenAI layer (personal/api) through the server's app, on the fake engine: shapes,
streaming, model names, tools, errors and the queue."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from personal.api.schema import ChatCompletion, ChatCompletionChunk, ErrorResponse, ModelList
from personal.server.app import create_app
from tests.live import HI, LOCAL, fake_revision, fake_runtime, sse_events, streamed_text

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}  # fmt: skip
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


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


def chat(client, **body):
    return client.post("/v1/chat/completions", json={"model": "personal", "messages": HI, **body})


def test_models_lists_personal_the_base_and_each_revision(client, runtime):
    rev = fake_revision(runtime.registry, runtime.engine, seed=1)
    models = ModelList.model_validate(client.get("/v1/models").json())
    assert [m.id for m in models.data] == ["personal", "fake-model", f"personal@{rev.short}"]


def test_a_completion_has_the_openai_shape_and_names_who_answered(client):
    r = chat(client, temperature=0, max_tokens=20)
    assert r.status_code == 200 and r.headers["x-personal-revision"] == "none"
    body = ChatCompletion.model_validate(r.json())
    assert body.choices[0].message.content == "You said: Hello there"
    assert body.choices[0].finish_reason == "stop" and body.model == "fake-model"
    assert body.usage.completion_tokens == 4
    assert body.usage.total_tokens == body.usage.prompt_tokens + 4


def test_a_stream_is_chunks_then_usage_then_done(client):
    r = chat(client, stream=True, stream_options={"include_usage": True})
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate(e) for e in events[:-1]]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert streamed_text(events) == "You said: Hello there"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert len({c.id for c in chunks}) == 1


def test_personal_follows_the_slot_and_a_pinned_revision_goes_with_the_request(client, runtime):
    a, b = (fake_revision(runtime.registry, runtime.engine, seed=s) for s in (2, 3))
    runtime.engine.attach_adapter(runtime.handler.names.ref(a.id))
    r = chat(client)
    assert r.headers["x-personal-revision"] == a.id
    assert (
        r.json()["model"] == f"personal@{a.short}" and a.id[:12] in r.json()["system_fingerprint"]
    )
    r = chat(client, model=f"personal@{b.id[:8]}")
    assert r.headers["x-personal-revision"] == b.id and r.json()["model"] == f"personal@{b.short}"
    assert runtime.engine.adapter.id == a.id  # the slot is untouched by a pinned request
    r = chat(client, model="fake-model")
    assert r.headers["x-personal-revision"] == "none"
    assert runtime.engine.attached == [a.id, b.id, None]  # attach, pinned request, base


def test_a_client_with_tools_gets_the_call_back(client, runtime):
    runtime.engine.enqueue("Let me look. " + CALL)
    r = chat(client, tools=[WEATHER])
    choice = ChatCompletion.model_validate(r.json()).choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {
        "city": "Paris"}  # fmt: skip
    assert call.id.startswith("call_") and choice.message.content == "Let me look."


def test_a_streamed_tool_call_comes_in_one_delta(client, runtime):
    runtime.engine.enqueue(CALL)
    events = sse_events(chat(client, tools=[WEATHER], stream=True).text)
    calls = [e["choices"][0]["delta"]["tool_calls"] for e in events[:-1]
             if e["choices"][0]["delta"].get("tool_calls")]  # fmt: skip
    assert len(calls) == 1 and calls[0][0]["index"] == 0
    assert calls[0][0]["function"]["name"] == "get_weather"
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_choice_forces_a_call(client, runtime):
    r = chat(client, tools=[WEATHER], tool_choice="required")
    assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert chat(client, tools=[WEATHER], tool_choice=named).json()["choices"][0][
        "finish_reason"] == "tool_calls"  # fmt: skip
    runtime.engine.enqueue(CALL)
    r = chat(client, tools=[WEATHER], tool_choice="none")  # the tools are not offered
    assert r.json()["choices"][0]["finish_reason"] == "stop"


def test_without_client_tools_personal_runs_its_own(client, runtime):
    runtime.engine.enqueue('<tool_call>\n{"name": "calc", "arguments": {"expression": "17*23"}}'
                           "\n</tool_call>", "17*23 is 391.")  # fmt: skip
    r = chat(client)
    message = r.json()["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "17*23 is 391."}
    seen = runtime.engine.calls[-1]
    assert seen[-1] == {"role": "tool", "content": "391"}  # the model read the result


BAD = {
    "malformed JSON": (b'{"model": "personal", "messages": [', 400, None),
    "not an object": (b"[1, 2]", 400, None),
    "unknown model": ({"model": "gpt-9"}, 404, "model"),
    "unknown revision": ({"model": "personal@deadbeef"}, 404, "model"),
    "no messages": ({"messages": []}, 400, "messages"),
    "wrong role": ({"messages": [{"role": "wizard", "content": "x"}]}, 400, "messages.0"),
    "content not text": ({"messages": [{"role": "user", "content": 42}]}, 400, "messages.0.content"),
    "image part": ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400,
                   "messages.0.content.0.type"),
    "tool without id": ({"messages": [{"role": "tool", "content": "1"}]}, 400, "messages.0.tool_call_id"),
    "empty assistant": ({"messages": [{"role": "assistant"}]}, 400, "messages.0"),
    "absurd max_tokens": ({"max_tokens": 10**9}, 400, "max_tokens"),
    "max_tokens over the context": ({"max_tokens": 100_000}, 400, "max_tokens"),
    "prompt over the context": ({"messages": [{"role": "user", "content": "word " * 5000}]}, 400,
                                "messages"),
    "temperature": ({"temperature": 7}, 400, "temperature"),
    "n": ({"n": 3}, 400, "n"),
    "five stops": ({"stop": ["a", "b", "c", "d", "e"]}, 400, "stop"),
    "schema not JSON Schema": ({"tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "strng"}}}}}]},
        400, "tools.0.function.parameters"),
    "schema not an object": ({"tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "string"}}}]}, 400, "tools.0.function.parameters"),
    "schema the grammar cannot express": ({"tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "properties": {"a": {"$ref": "#/nope"}}}}}]},
        None, None),
    "bad function name": ({"tools": [{"type": "function", "function": {"name": "a b"}}]}, 400,
                          "tools.0.function.name"),
    "choice names no tool": ({"tools": [WEATHER], "tool_choice": {
        "type": "function", "function": {"name": "other"}}}, 400, None),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_a_4xx_in_the_openai_shape_and_logs_nothing(client, log, case):
    body, status, param = BAD[case]
    if isinstance(body, dict):
        body = json.dumps({"model": "personal", "messages": HI, **body}).encode()
    r = client.post("/v1/chat/completions", content=body,
                    headers={"content-type": "application/json"})  # fmt: skip
    if status is None:  # the fake engine has no grammar: accepted there (llama.cpp: 400)
        assert r.status_code in (200, 400)
    else:
        assert r.status_code == status, r.text
        error = ErrorResponse.model_validate(r.json()).error
        assert error.message and error.type
        assert param is None or error.param == param
    if r.status_code != 200:
        assert log.conversations() == []
    assert chat(client).status_code == 200  # still serving


def test_beyond_the_queue_a_request_gets_429_with_retry_after(log):
    rt = fake_runtime(log, queue=0)
    rt.engine.hold()  # the first answer stops after its first piece
    try:
        with TestClient(create_app(rt), base_url=LOCAL) as c:
            first = threading.Thread(target=chat, args=(c,))
            first.start()
            while not rt.handler.queue.stats().running:
                time.sleep(0.01)
            r = chat(c)
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            assert r.json()["error"]["code"] == "rate_limit_exceeded"
            rt.engine.release()
            first.join(10)
            assert chat(c).status_code == 200
    finally:
        rt.engine.release()
        rt.close()


def test_engine_failures_map_to_what_the_client_can_do():
    from personal.api.handler import as_api_error
    from personal.engine.llama import ContextOverflow
    from personal.errors import AdapterError, EngineError

    overflow = as_api_error(
        ContextOverflow("the conversation is 5000 tokens; the context holds 4096")
    )
    assert (overflow.status, overflow.code) == (400, "context_length_exceeded")
    assert as_api_error(AdapterError("rejected")).code == "adapter_unusable"
    assert as_api_error(EngineError("boom")).status == 500
    bug = as_api_error(ZeroDivisionError())
    assert bug.status == 500 and "keeps serving" in bug.message


def test_candidates_are_confirmed_or_rejected_and_preferences_deleted(client, log):
    from personal.log import preferences as rows
    from personal.prefs.preferences import Preferences

    pref = Preferences(log).add("Answer in French.")
    with log.transaction():
        waiting = [rows.propose(log.db, text=t, kind="style", checker=None, source="import",
                                stated_at="2026-11-01T00:00:00+00:00") for t in ("A.", "B.")]  # fmt: skip
    listed = client.get("/api/preferences").json()["preferences"]
    assert [p["id"] for p in listed] == [*waiting, pref.id]  # candidates first
    r = client.post(f"/api/preferences/{pref.id}/confirm")
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_a_candidate"
    assert "already confirmed" in r.json()["error"]["message"]
    assert client.post("/api/preferences/zzzz9999/confirm").status_code == 404
    assert client.post(f"/api/preferences/{waiting[0]}/confirm").json() == {"confirmed": waiting[0]}
    assert client.post(f"/api/preferences/{waiting[1]}/reject").json() == {"rejected": waiting[1]}
    assert client.post("/api/preferences/zzzz9999/reject").status_code == 404
    assert client.post(f"/api/preferences/{pref.id}/reject").json() == {"removed": pref.id}
    kept = {p.id: p for p in Preferences(log).list()}
    assert kept[waiting[0]].confirmed and kept[waiting[0]].active
    assert kept[waiting[1]].rejected and not kept[waiting[1]].active and pref.id not in kept
    assert [p["id"] for p in client.get("/api/preferences").json()["preferences"]] == [waiting[0]]
