"""What a host asks of an engine beyond chat: adapters loaded and freed on its command, and
next-token distributions for the probe check (llama.cpp on a tiny model; the fake engine)."""

from __future__ import annotations

import numpy as np
import pytest

from personal.engine import AdapterRef, GenerationParams
from personal.engine.fake import FakeEngine
from personal.engine.llama import LlamaEngine
from personal.models import catalog
from tests.lora_gguf import write_random_lora
from tests.tinymodel import write_tiny_llama_gguf

HELLO = [{"role": "user", "content": "hello world"}]
GREEDY = GenerationParams(temperature=0.0, max_tokens=1)


@pytest.fixture(scope="module")
def tiny(module_dir):
    d = module_dir
    base = catalog.resolve(str(write_tiny_llama_gguf(d / "tiny.gguf", n_layer=2)))
    refs = [AdapterRef(f"a{i}", write_random_lora(base.path, d / f"a{i}.gguf", layers=2,
                                                  seed=i, std=0.3)) for i in range(3)]  # fmt: skip
    return base, refs


@pytest.fixture
def engine(tiny):
    e = LlamaEngine(tiny[0], n_ctx=512, n_threads=2, resident=None)
    yield e
    e.close()


def test_next_logprobs_is_a_distribution_whose_top_is_the_greedy_token(engine, tiny):
    _, refs = tiny
    for adapter in (None, refs[0]):
        ids, lp = engine.next_logprobs(HELLO, adapter=adapter)
        assert ids == engine.prompt_tokens(HELLO)
        assert abs(np.exp(lp).sum() - 1) < 1e-6
        first = engine.chat(HELLO, GREEDY, adapter=adapter).complete().raw
        assert engine._llm.detokenize([int(np.argmax(lp))]).decode(errors="replace") == first
    base = engine.next_logprobs(HELLO, adapter=None)[1]
    adapted = engine.next_logprobs(HELLO, adapter=refs[0])[1]
    assert np.abs(base - adapted).max() > 0.1  # the adapter really acts
    assert np.array_equal(engine.next_logprobs(HELLO, adapter=None)[1], base)  # repeatable


def test_preload_and_evict_are_the_callers_to_decide(engine, tiny):
    _, refs = tiny
    for ref in refs:
        engine.preload(ref)
    assert engine.resident_adapters == 3  # resident=None: nothing freed behind its back
    engine.chat(HELLO, GREEDY, adapter=refs[1]).complete()  # active now
    engine.evict(refs[1])  # the active one: deactivated, then freed
    assert engine.resident_adapters == 2 and engine._live is None
    base = engine.next_logprobs(HELLO, adapter=None)[1]
    fresh = LlamaEngine(tiny[0], n_ctx=512, n_threads=2)
    try:
        assert np.array_equal(fresh.next_logprobs(HELLO, adapter=None)[1], base)
    finally:
        fresh.close()
    engine.evict(refs[1])  # twice: nothing to do
    engine.evict(AdapterRef("gone", tiny[1][0].path.with_name("missing.gguf")))


def test_the_default_limit_still_frees_the_least_recently_used(tiny):
    e = LlamaEngine(tiny[0], n_ctx=512, n_threads=2, resident=2)
    try:
        for ref in tiny[1]:
            e.preload(ref)
        assert e.resident_adapters == 2
    finally:
        e.close()


def test_score_detail_says_which_tokens_were_the_greedy_choice(engine, tiny):
    _, refs = tiny
    checked = 0
    for adapter in (None, refs[2]):
        for word in ("hello", "what is the time", "good day", "yes", "stop"):
            messages = [{"role": "user", "content": word}]
            prompt = engine.format.render(messages)
            lp = engine.next_logprobs(messages, adapter=adapter)[1]
            for rank, token in enumerate(np.argsort(-lp)[:3]):
                text = engine._llm.detokenize([int(token)]).decode(errors="replace")
                if engine._llm.tokenize(text.encode(), add_bos=False, special=True) != [token]:
                    continue  # the tiny vocabulary spells some tokens two ways
                [(score, is_top)] = engine.score_detail(prompt, text, adapter=adapter)
                assert is_top == (rank == 0) and abs(score - lp[token]) < 1e-3
                assert engine.score(prompt, text, adapter=adapter) == [score]
                checked += rank == 0
    assert checked >= 2


def test_the_fake_engine_tilts_its_distribution_by_adapter():
    e = FakeEngine()
    a, b = AdapterRef("a", e.info and __file__), AdapterRef("b", __file__)  # type: ignore[arg-type]
    base = e.next_logprobs(HELLO, adapter=None)[1]
    assert np.array_equal(e.next_logprobs(HELLO, adapter=a)[1], e.next_logprobs(HELLO, adapter=a)[1])
    assert not np.array_equal(e.next_logprobs(HELLO, adapter=a)[1], base)
    assert not np.array_equal(e.next_logprobs(HELLO, adapter=a)[1], e.next_logprobs(HELLO, adapter=b)[1])
