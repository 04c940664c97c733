"""What one request can see of another, on llama.cpp: never another's adapter, and with
`isolate` not even its cached prefix (answers bit-identical to a fresh engine's)."""

from __future__ import annotations

import pytest

from personal.adapters.registry import Registry
from personal.api.handler import Cancellation, ChatHandler, Finished
from personal.api.names import RegistryNames
from personal.api.schema import ChatCompletionRequest
from personal.engine.llama import LlamaEngine
from tests.lora_gguf import DISTINCT
from tests.test_serving import register

pytestmark = pytest.mark.model
A = [{"role": "system", "content": "You are a helpful, concise assistant."},
     {"role": "user", "content": "Tell me about the moon."}]  # fmt: skip
B = [A[0], {"role": "user", "content": "Tell me about the sea and its fish."}]


def answer(handler: ChatHandler, messages, model: str = "personal") -> str:
    request = ChatCompletionRequest(model=model, messages=messages, temperature=0,
                                    max_tokens=40, tool_choice="none")  # fmt: skip
    job = handler.prepare(request)
    events = list(handler.run(job, handler.admit(), Cancellation()))
    done = events[-1]
    assert isinstance(done, Finished)
    return done.message["content"]


def fresh(base, messages, rev=None) -> str:
    engine = LlamaEngine(base, n_ctx=1024, n_threads=2)
    try:
        handler = ChatHandler(engine, RegistryNames(engine.info))
        return answer(handler, messages, f"personal@{rev.id}" if rev else "personal")
    finally:
        engine.close()


@pytest.fixture
def engine(smollm2_base):
    eng = LlamaEngine(smollm2_base, n_ctx=1024, n_threads=2)
    yield eng
    eng.close()


def test_isolated_requests_answer_as_a_fresh_engine_does(engine, smollm2_base):
    handler = ChatHandler(engine, RegistryNames(engine.info), isolate=True)
    first = answer(handler, A)
    answer(handler, B)  # shares the system prompt's tokens with A
    assert answer(handler, A) == first == fresh(smollm2_base, A)


def test_a_pinned_adapter_never_leaks_into_the_next_request(engine, smollm2_base):
    rev = register(Registry(), smollm2_base, seed=31, std=DISTINCT)
    handler = ChatHandler(engine, RegistryNames(engine.info))
    plain = answer(handler, A)
    pinned = answer(handler, A, f"personal@{rev.id}")
    assert pinned != plain and pinned == fresh(smollm2_base, A, rev)
    assert answer(handler, A) == plain  # back on the bare slot: the KV was reset
    assert answer(handler, A, "smollm2-135m") == plain
