"""`personal serve` as a real process on the embedded model, used by real clients: the
official `openai` package, `llm` (simonw/llm) and a promotion made by another process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from personal.adapters.registry import Registry
from personal.log import Log
from tests.lora_gguf import DISTINCT
from tests.test_serving import register

pytestmark = pytest.mark.model
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def server(module_home):
    port = free_port()
    env = {**os.environ, "PERSONAL_HOME": str(module_home)}
    proc = subprocess.Popen([sys.executable, "-m", "personal.cli.main", "serve", "--port",
                             str(port), "--threads", "2"], env=env, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            health(url)
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(15)


@pytest.fixture(scope="module")
def openai_client(server):
    from openai import OpenAI

    return OpenAI(base_url=f"{server}/v1", api_key="not-needed", max_retries=0, timeout=120)


def test_openai_package_non_streaming_and_streaming(openai_client, module_home):
    done = openai_client.chat.completions.create(model="personal", messages=QUESTION,
                                                 temperature=0, max_tokens=24)  # fmt: skip
    text = done.choices[0].message.content
    assert "Paris" in text and done.usage.completion_tokens > 0
    assert done.model == "smollm2-135m" and done.system_fingerprint.endswith("_base")
    pieces = []
    stream = openai_client.chat.completions.create(
        model="personal", messages=QUESTION, temperature=0, max_tokens=24, stream=True,
        stream_options={"include_usage": True})  # fmt: skip
    usage = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    assert len(pieces) > 3 and "".join(pieces) == text  # the same greedy answer, in pieces
    assert usage.completion_tokens == done.usage.completion_tokens
    with Log(module_home / "log.db") as log:
        sources = {c.source for c in log.conversations()}
    assert sources == {"api"}


def test_openai_package_tool_call_round_trip(openai_client):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = openai_client.chat.completions.create(
        model="personal", messages=messages, tools=[WEATHER], tool_choice="required",
        temperature=0, max_tokens=64)  # fmt: skip
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"] == "Paris"
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "18 degrees, sunny"}]  # fmt: skip
    final = openai_client.chat.completions.create(model="personal", messages=messages,
                                                  tools=[WEATHER], temperature=0, max_tokens=40)  # fmt: skip
    assert final.choices[0].finish_reason in ("stop", "length")
    assert final.choices[0].message.content


def test_openai_package_errors_are_typed(openai_client):
    import openai

    with pytest.raises(openai.NotFoundError) as e:
        openai_client.chat.completions.create(model="gpt-9", messages=QUESTION)
    assert e.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.chat.completions.create(
            model="personal", messages=[{"role": "user", "content": "word " * 6000}]
        )
    assert e.value.body["code"] == "context_length_exceeded"


def test_llm_cli_with_an_extra_openai_model(server, tmp_path, module_home):
    (tmp_path / "extra-openai-models.yaml").write_text(
        f"- model_id: mine\n  model_name: personal\n  api_base: {server}/v1\n"
    )
    env = {**os.environ, "LLM_USER_PATH": str(tmp_path)}

    def llm(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "llm", *args, "-o", "temperature", "0",
                              "-o", "max_tokens", "24"], env=env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    with Log(module_home / "log.db") as log:
        before = len(log.conversations())
    assert "Paris" in llm("-m", "mine", "What is the capital of France?")
    assert llm("-c", "And of Italy?")  # llm resends the whole conversation
    with Log(module_home / "log.db") as log:
        conversations = log.conversations()
        assert len(conversations) == before + 1  # one conversation, two turns
        users = [m.content for m in log.messages(conversations[0].id) if m.role == "user"]
    assert users == ["What is the capital of France?", "And of Italy?"]


def test_a_promotion_from_another_process_answers_the_next_request(
    server, openai_client, module_home, smollm2_base
):
    base = smollm2_base
    registry = Registry(module_home / "adapters")
    rev = register(registry, base, seed=21, std=DISTINCT)
    ask = {"model": "personal", "messages": QUESTION, "temperature": 0, "max_tokens": 16}
    plain = openai_client.chat.completions.with_raw_response.create(**ask)
    assert plain.headers["x-personal-revision"] == "none"
    code = ("from personal.adapters.registry import Registry; r = Registry();"
            f"r.set_current({base.fingerprint!r}, r.get({rev.id!r}), 'promote')")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "PERSONAL_HOME": str(module_home)})  # fmt: skip
    deadline = time.monotonic() + 15
    while health(server)["revision"] != rev.id:
        assert time.monotonic() < deadline, "the server did not follow the promotion"
        time.sleep(0.1)
    after = openai_client.chat.completions.with_raw_response.create(**ask)
    assert after.headers["x-personal-revision"] == rev.id
    answer = after.parse()
    assert answer.model == f"personal@{rev.short}"
    assert answer.choices[0].message.content != plain.parse().choices[0].message.content
    bare = openai_client.chat.completions.create(**{**ask, "model": "smollm2-135m"})
    assert bare.choices[0].message.content == plain.parse().choices[0].message.content
    pinned = openai_client.chat.completions.create(**{**ask, "model": f"personal@{rev.id[:8]}"})
    assert pinned.choices[0].message.content == answer.choices[0].message.content
