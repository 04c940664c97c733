"""One contract, every engine: the fake, llama.cpp and MLX behave the same way.

A new engine is tested by adding one `Case` to `CASES`. The real engines run the embedded
default model (SmolLM2-135M: llama.cpp on the Q4 GGUF, MLX on its float32 conversion) with
random LoRA adapters strong enough to change a greedy answer; the fake engine is scripted.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from personal.engine import AdapterRef, Engine, GenerationParams
from personal.errors import EngineError

GREEDY = GenerationParams(temperature=0.0, max_tokens=24)
SYSTEM = {"role": "system", "content": "You are a helpful, concise assistant."}
FRANCE = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]
LONG = [{"role": "user", "content": "Count from one to two hundred in words."}]
CALC = {"type": "function", "function": {
    "name": "calc", "description": "Evaluate an arithmetic expression.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                   "required": ["expression"]}}}  # fmt: skip


def _shot(question: str, expression: str, value: str) -> list[dict]:
    call = {"id": "c1", "type": "function",
            "function": {"name": "calc", "arguments": json.dumps({"expression": expression})}}  # fmt: skip
    return [{"role": "user", "content": question},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "name": "calc", "content": value},
            {"role": "assistant", "content": f"{expression} = {value}."}]  # fmt: skip


# Three worked examples: the bare model then starts a call itself, in either engine (deciding
# *when* to call is what the personal adapter learns; here only the mechanics are tested).
CALL = [*_shot("What is 12*4?", "12*4", "48"), *_shot("What is 7+5?", "7+5", "12"),
        *_shot("What is 9*9?", "9*9", "81"), {"role": "user", "content": "What is 17*23?"}]  # fmt: skip


@dataclass
class Case:
    name: str
    open: Callable[[Path], Engine]  # (a private directory) → the engine
    adapter: Callable[[Engine, Path, int], AdapterRef]  # (engine, dir, seed) → a strong adapter
    script: Callable[[Engine, str], None] = lambda engine, reply: None  # fake only
    marks: tuple = ()


# --- the engines ------------------------------------------------------------------------------
def _fake(tmp: Path) -> Engine:
    from personal.engine.fake import FakeEngine

    return FakeEngine(delay=0.002)  # slow enough for another thread to cancel it


def _fake_adapter(engine: Engine, tmp: Path, seed: int) -> AdapterRef:
    return AdapterRef(f"fake-{seed}", tmp / f"fake-{seed}.gguf")


def _fake_script(engine: Engine, reply: str) -> None:
    engine.enqueue(reply)  # type: ignore[attr-defined]


def _llama(tmp: Path) -> Engine:
    from personal.engine.llama import LlamaEngine
    from personal.models import catalog

    return LlamaEngine(catalog.resolve("smollm2-135m"), n_ctx=1024, n_threads=2)


def _llama_adapter(engine: Engine, tmp: Path, seed: int) -> AdapterRef:
    from tests.lora_gguf import write_random_lora

    path = write_random_lora(Path(engine.info.extra["path"]), tmp / f"llama-{seed}.gguf",
                             std=0.08, layers=8, seed=seed)  # fmt: skip
    return AdapterRef(f"llama-{seed}", path)


def _mlx(tmp: Path) -> Engine:
    from personal.engine.mlx_engine import MLXEngine
    from personal.models import catalog

    base = catalog.resolve("smollm2-135m")
    return MLXEngine(base.path, fingerprint=base.fingerprint, model_name=base.name, n_ctx=1024)


def _mlx_adapter(engine: Engine, tmp: Path, seed: int) -> AdapterRef:
    from personal.adapters.formats import write_mlx_adapter

    rng = np.random.default_rng(seed)
    weights = {}
    layers = engine.model.layers  # type: ignore[attr-defined]
    for i in range(len(layers) - 8, len(layers)):
        for key in ("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"):
            module = layers[i]
            for part in key.split("."):
                module = getattr(module, part)
            n_out, n_in = module.weight.shape
            weights[f"model.layers.{i}.{key}.lora_a"] = rng.normal(0, 0.08, (n_in, 4)).astype(np.float32)
            weights[f"model.layers.{i}.{key}.lora_b"] = rng.normal(0, 0.08, (4, n_out)).astype(np.float32)
    out = tmp / f"mlx-{seed}"
    write_mlx_adapter(out, weights, {"rank": 4, "scale": 2.0, "dropout": 0.0,
                                     "keys": ["self_attn.q_proj", "self_attn.v_proj",
                                              "mlp.down_proj"]}, 8, {})  # fmt: skip
    return AdapterRef(f"mlx-{seed}", out)


CASES = [
    Case("fake", _fake, _fake_adapter, _fake_script),
    Case("llama.cpp", _llama, _llama_adapter, marks=(pytest.mark.model,)),
    Case("mlx", _mlx, _mlx_adapter, marks=(pytest.mark.model, pytest.mark.slow)),
]


@pytest.fixture(scope="module", params=[pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def case(request, module_dir):
    tmp = module_dir / request.param.name
    tmp.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERSONAL_HOME", str(tmp / "home"))  # conversions land here, not in ~
        engine = request.param.open(tmp)
        yield request.param, engine, tmp
        engine.close()


def _real(case: Case) -> bool:
    return case.name != "fake"


# --- the contract -----------------------------------------------------------------------------
def test_streams_pieces_that_make_up_the_result(case):
    spec, engine, _ = case
    spec.script(engine, "Paris is the capital of France.")
    stream = engine.chat(FRANCE, GREEDY)
    pieces = list(stream)
    result = stream.result
    assert len(pieces) > 1 and result.text == "".join(pieces)
    assert "Paris" in result.text
    assert result.usage.finish_reason in ("stop", "length")
    assert 0 < result.usage.completion_tokens <= GREEDY.max_tokens
    assert result.ttft_ms is not None and result.adapter is None


def test_cancel_from_another_thread_keeps_the_partial_answer(case):
    spec, engine, _ = case
    spec.script(engine, " ".join(f"word{i}" for i in range(300)))
    stream = engine.chat(LONG, GenerationParams(temperature=0, max_tokens=300))
    seen = []
    for piece in stream:
        seen.append(piece)
        if len(seen) == 3:
            threading.Thread(target=stream.cancel).start()
    assert stream.result.interrupted and stream.result.usage.finish_reason == "cancelled"
    assert 3 <= stream.result.usage.completion_tokens < 300
    assert stream.result.text == "".join(seen)


def test_a_stop_string_ends_the_answer_and_is_not_shown(case):
    spec, engine, _ = case
    spec.script(engine, "Paris is the capital of France.")
    full = engine.chat(FRANCE, GREEDY).complete().text
    stop = full.split()[2]  # early: llama.cpp's greedy path may differ later (see below)
    spec.script(engine, "Paris is the capital of France.")
    result = engine.chat(FRANCE, GenerationParams(temperature=0, max_tokens=24, stop=(stop,))).complete()
    assert result.text == full[: full.index(stop)]
    assert result.usage.finish_reason == "stop"


def test_a_started_tool_call_is_returned_as_a_call(case):
    spec, engine, _ = case
    spec.script(engine, 'Sure. <tool_call>{"name": "calc", "arguments": {"expression": "17*23"}}</tool_call>')
    result = engine.chat(CALL, GenerationParams(temperature=0.0, max_tokens=48), tools=[CALC]).complete()
    assert result.usage.finish_reason == "tool_calls", result.raw
    assert [c.name for c in result.tool_calls] == ["calc"] and result.tool_errors == []
    assert result.tool_calls[0].arguments == {"expression": "17*23"}
    assert "<tool_call>" not in result.text


def same_start(a: str, b: str, words: int = 3) -> bool:
    """llama.cpp's logits depend slightly on how a prompt was batched (a prefix reused from
    the cache, or evaluated afresh), so a greedy answer may part ways at a near-tie late in
    the answer; its first words do not."""
    return a.split()[:words] == b.split()[:words]


NEAR_TIE = 0.5  # nats: two next tokens this close are a coin toss for batched arithmetic


def same_or_torn(engine: Engine, conversation: list, a: str, b: str) -> bool:
    """Two greedy answers to `conversation` that start alike — or, from an engine that
    reports next-token distributions, part where the model was torn between the two tokens
    (e.g. " Cor" 2.05 vs " cap" 1.96 after "Il", for "What is the capital of Italy?" on a
    baseline AVX2 build): one step of arithmetic done in another order flips such a tie."""
    if same_start(a, b):
        return True
    common = os.path.commonprefix([a, b])
    cut = common[: common.rfind(" ")] if " " in common else ""  # "Il": " Cor…" / " cap…" next
    try:
        _, logprobs = engine.next_logprobs(conversation, prefix=cut, adapter=None)
    except EngineError:
        return False
    bos = len(engine.tokenize(""))  # type: ignore[attr-defined]
    rests = [engine.tokenize(x[len(cut) :])[bos:] for x in (a, b)]  # type: ignore[attr-defined]
    if not all(rests):  # one answer is the other's start: no torn token to compare
        return False
    ta, tb = rests[0][0], rests[1][0]
    return ta != tb and abs(float(logprobs[ta]) - float(logprobs[tb])) < NEAR_TIE


def test_an_adapter_per_request_leaves_the_slot_alone(case):
    spec, engine, tmp = case
    one, two = spec.adapter(engine, tmp, 1), spec.adapter(engine, tmp, 3)
    base = engine.chat(FRANCE, GREEDY).complete()
    engine.attach_adapter(one)
    try:
        slot = engine.chat(FRANCE, GREEDY).complete()
        other = engine.chat(FRANCE, GREEDY, adapter=two).complete()
        bare = engine.chat(FRANCE, GREEDY, adapter=None).complete()
        again = engine.chat(FRANCE, GREEDY).complete()
    finally:
        engine.detach_adapter()
    assert (slot.adapter, other.adapter, bare.adapter, again.adapter) == (
        one.id, two.id, None, one.id)  # fmt: skip
    assert engine.adapter is None
    if _real(spec):  # the adapters really act, and only on their own request
        assert not same_start(slot.text, base.text) and not same_start(other.text, slot.text)
        assert same_start(bare.text, base.text) and same_start(again.text, slot.text)


def test_the_adapter_is_fixed_when_the_generation_starts(case):
    """A swap while a request waits for the engine applies to the next request only."""
    spec, engine, tmp = case
    one = spec.adapter(engine, tmp, 1)
    stream = engine.chat(FRANCE, GREEDY)  # created before the attach, runs after it
    engine.attach_adapter(one)
    try:
        assert stream.complete().adapter == one.id
        assert engine.chat(FRANCE, GREEDY, adapter=None).complete().adapter is None
    finally:
        engine.detach_adapter()


def _alone_and_together(spec: Case, engine: Engine, conversations: list, replies: list[str]
                        ) -> tuple[list, list]:  # fmt: skip
    """Each conversation answered alone (`chat`), then all at once (`chat_many`); the fake
    engine is scripted with `replies` for both."""
    for reply in replies:
        spec.script(engine, reply)
    alone = [engine.chat(c, GREEDY).complete() for c in conversations]
    for reply in replies:
        spec.script(engine, reply)
    return alone, engine.chat_many(conversations, GREEDY)


def test_many_conversations_at_once_answer_each_in_order(case):
    spec, engine, tmp = case
    questions = ["What is the capital of France?", "What is the capital of Italy?",
                 "Name a primary colour.", "What is two plus two?", "Say hello."]  # fmt: skip
    conversations = [[SYSTEM, {"role": "user", "content": q}] for q in questions]
    one_by_one, many = _alone_and_together(spec, engine, conversations,
                                           [f"You said: {q}" for q in questions])  # fmt: skip
    assert len(many) == len(conversations)
    for conv, alone, batched in zip(conversations, one_by_one, many, strict=True):
        assert same_or_torn(engine, conv, alone.text, batched.text), (alone.text, batched.text)
        assert batched.usage.finish_reason in ("stop", "length") and batched.adapter is None
    one = spec.adapter(engine, tmp, 1)
    adapted = engine.chat_many(conversations[:2], GREEDY, adapter=one)
    assert [c.adapter for c in adapted] == [one.id, one.id] and engine.adapter is None
    if _real(spec):
        assert not same_start(adapted[0].text, many[0].text)
    spec.script(engine, "x")
    spec.script(engine, "x")
    sampled = engine.chat_many(conversations[:2], GenerationParams(temperature=1.0, max_tokens=8),
                               seeds=[1, 2])  # fmt: skip
    assert len(sampled) == 2


def test_more_conversations_than_a_batch_holds_each_get_their_own_answer(case):
    """Continuous batching (llama.cpp): a slot freed by a short answer takes the next
    prompt; every answer still belongs to its own conversation, in order. Four more
    conversations than the engine advances together (`batch_slots`; one where `chat_many`
    is the one-by-one default, as in MLX, whose generation on a CPU is ~10 s an answer)."""
    spec, engine, _ = case
    things = ("cat", "dog", "tree", "car", "house", "river", "apple", "bird", "chair",
              "cloud", "book", "boat", "horse", "lamp", "shoe", "bread", "clock", "moon",
              "stone", "fish")[: engine.batch_slots + 4]  # fmt: skip
    assert len(things) > engine.batch_slots
    # answers of very different lengths, so slots free up at different steps
    asks = [f"Repeat the word '{t}' and nothing else." if n % 3 == 0 else
            f"Write one long sentence about a {t}." for n, t in enumerate(things)]  # fmt: skip
    conversations = [[SYSTEM, {"role": "user", "content": q}] for q in asks]
    one_by_one, many = _alone_and_together(
        spec, engine, conversations, [f"A {t}, and something more about it." for t in things])
    assert len(many) == len(asks)
    # a near-tie may part a batched greedy answer from the one alone at any token, even
    # the first; what it is about may not
    said = [[t in c.text.lower() for t, c in zip(things, answers, strict=True)]
            for answers in (one_by_one, many)]  # fmt: skip
    n = len(things)
    assert sum(said[1]) >= n // 2 and sum(a == b for a, b in zip(*said, strict=True)) >= n - 2, said
    if _real(spec) and engine.batch_slots > 1:
        assert len({c.usage.completion_tokens for c in many}) > 3  # slots freed unevenly


def test_until_ends_an_answer_once_one_of_its_strings_is_in_it(case):
    """`until[i]`: the answer may end as soon as it holds one of its strings (casefolded);
    what it holds then is the start of the whole answer and contains the string."""
    spec, engine, _ = case
    asks = ["Describe Paris in three long sentences.", "Describe a cat in three long sentences.",
            "List five fruits, one per line."]  # fmt: skip
    conversations = [[SYSTEM, {"role": "user", "content": q}] for q in asks]
    long = GenerationParams(temperature=0.0, max_tokens=64)
    for q in asks:
        spec.script(engine, f"Here is the answer about {q} and some more words after it.")
    whole = engine.chat_many(conversations, long)
    wanted = [(c.text.split()[1].upper(), "not in any answer at all") for c in whole]
    for q in asks:
        spec.script(engine, f"Here is the answer about {q} and some more words after it.")
    early = engine.chat_many(conversations, long, until=wanted)
    for full, cut, strings in zip(whole, early, wanted, strict=True):
        assert full.text.startswith(cut.text) and strings[0].casefold() in cut.text.casefold()
        if _real(spec) and spec.name == "llama.cpp":  # the engine that ends answers early
            assert len(cut.text) < len(full.text) and cut.usage.finish_reason == "stop"
    nothing = engine.chat_many(conversations[:1], long, until=[()])
    if _real(spec):
        assert same_start(nothing[0].text, whole[0].text)
