"""The llama.cpp engine, for real, on the embedded default model (SmolLM2-135M Q4_1)."""

from __future__ import annotations

import shutil
import threading

import pytest

from personal.engine import AdapterRef, GenerationParams
from personal.engine.llama import ContextOverflow, LlamaEngine
from personal.engine.stops import StopFilter
from personal.errors import AdapterError, ModelCorrupt
from personal.models import catalog
from tests.lora_gguf import DISTINCT, write_random_lora

GREEDY = GenerationParams(temperature=0.0, max_tokens=24)
SYSTEM = {"role": "system", "content": "You are a helpful, concise assistant. Answer the question directly."}
FRANCE = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def engine(smollm2_engine):
    return smollm2_engine


def test_answers_a_simple_question(engine):
    text = engine.chat(FRANCE, GREEDY).complete().text
    assert "Paris" in text


def test_streams_pieces_and_counts_tokens(engine):
    stream = engine.chat(FRANCE, GREEDY)
    pieces = list(stream)
    assert len(pieces) > 3
    assert stream.result.text == "".join(pieces)
    assert stream.result.usage.prompt_tokens == len(engine.prompt_tokens(FRANCE))
    assert stream.result.usage.completion_tokens >= len(pieces)
    assert stream.result.usage.finish_reason == "stop"
    assert stream.result.ttft_ms is not None and stream.result.adapter is None


def test_greedy_is_deterministic_and_cache_reuse_is_exact(engine):
    a = engine.chat(FRANCE, GREEDY).complete().text
    b = engine.chat(FRANCE, GREEDY).complete().text  # second run reuses the prefix cache
    engine.reset()
    c = engine.chat(FRANCE, GREEDY).complete().text
    assert a == b == c


def test_max_tokens_stops_with_length(engine):
    msgs = [{"role": "user", "content": "Write a long story about a dragon."}]
    result = engine.chat(msgs, GenerationParams(temperature=0, max_tokens=5)).complete()
    assert result.usage.finish_reason == "length"
    assert result.usage.completion_tokens == 5


def test_stop_string_is_not_emitted(engine):
    full = engine.chat(FRANCE, GREEDY).complete().text
    word = "Paris"
    assert word in full
    result = engine.chat(FRANCE, GenerationParams(temperature=0, max_tokens=24, stop=(word,))).complete()
    assert result.text == full[: full.index(word)]
    assert result.usage.finish_reason == "stop"


def test_cancel_from_another_thread_keeps_partial_text(engine):
    msgs = [{"role": "user", "content": "Count from one to two hundred in words."}]
    stream = engine.chat(msgs, GenerationParams(temperature=0, max_tokens=400))
    seen = []
    for piece in stream:
        seen.append(piece)
        if len(seen) == 5:
            threading.Thread(target=stream.cancel).start()
    assert stream.result.usage.finish_reason == "cancelled"
    assert stream.result.interrupted
    assert 5 <= stream.result.usage.completion_tokens < 400
    assert stream.result.text == "".join(seen)


def test_context_overflow_is_a_clear_error(engine):
    msgs = [{"role": "user", "content": "word " * 5000}]  # beyond any context here
    with pytest.raises(ContextOverflow, match="context holds"):
        engine.chat(msgs, GREEDY).complete()


def test_adapter_attach_changes_output_and_detach_restores_it(engine, tmp_path):
    base = engine.chat(FRANCE, GREEDY).complete().text
    lora = write_random_lora(engine._model.path, tmp_path / "a.gguf", std=DISTINCT, layers=8)
    engine.attach_adapter(AdapterRef("rev-a", lora, scale=1.0))
    try:
        adapted = engine.chat(FRANCE, GREEDY).complete()
        assert adapted.adapter == "rev-a"
        assert adapted.text != base
        again = engine.chat(FRANCE, GREEDY).complete().text
        assert again == adapted.text
    finally:
        engine.detach_adapter()
    assert engine.adapter is None
    assert engine.chat(FRANCE, GREEDY).complete().text == base  # bit-identical after detach
    assert engine.load_count == 1


def test_bad_adapter_keeps_the_previous_one(engine, tmp_path):
    good = write_random_lora(engine._model.path, tmp_path / "good.gguf", std=0.08, layers=8)
    bad = write_random_lora(engine._model.path, tmp_path / "bad.gguf", wrong_shape=True)
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(good.read_bytes()[:2000])
    engine.attach_adapter(AdapterRef("good", good))
    try:
        expected = engine.chat(FRANCE, GREEDY).complete().text
        for path in (bad, corrupt, tmp_path / "missing.gguf"):
            with pytest.raises(AdapterError):
                engine.attach_adapter(AdapterRef("bad", path))
            assert engine.adapter.id == "good"
            assert engine.chat(FRANCE, GREEDY).complete().text == expected
    finally:
        engine.detach_adapter()


def test_truncated_model_file_is_reported(tmp_path):
    src = catalog.resolve("smollm2-135m").path
    broken = tmp_path / "broken.gguf"
    with src.open("rb") as f:
        broken.write_bytes(f.read(20_000_000))  # header intact, tensor data cut short
    with pytest.raises(ModelCorrupt):
        LlamaEngine(catalog.resolve(str(broken)), n_ctx=256, n_threads=2)
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.parametrize(
    "chunks,stops,expected",
    [
        (["Hello", " wor", "ld"], ("<|im_end|>",), ["Hello", " wor", "ld"]),
        (["Hi <|im", "_end|> rest"], ("<|im_end|>",), ["Hi ", ""]),
        (["a\nUs", "er: b"], ("\nUser:",), ["a", ""]),
        (["a\nUs", "ually"], ("\nUser:",), ["a", "\nUsually"]),
    ],
)
def test_stop_filter_holds_back_possible_stop_prefixes(chunks, stops, expected):
    f = StopFilter(stops)
    out = [f.feed(c)[0] for c in chunks]
    assert out == expected


CALC = {"type": "function", "function": {
    "name": "calc", "description": "Evaluate an arithmetic expression.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                   "required": ["expression"]}}}  # fmt: skip


def test_a_call_the_model_starts_is_completed_under_the_grammar(engine):
    # The base model does not decide to call tools by itself (that habit is what the
    # personal adapter learns); asked to write the tag, it starts a call, and the engine
    # completes the JSON under a grammar built from the tool schemas.
    # (What the bare base puts in the arguments is poor — ".*23" here; picking the right
    # arguments is learned with the tool habit, see test_learning_loop.py.)
    msgs = [{"role": "user", "content": "Write the tag <tool_call> to call the calculator for 17*23."}]
    result = engine.chat(msgs, GREEDY, tools=[CALC]).complete()
    assert result.usage.finish_reason == "tool_calls" and result.tool_errors == []
    (call,) = result.tool_calls
    assert call.name == "calc" and set(call.arguments) == {"expression"}
    assert isinstance(call.arguments["expression"], str) and "23" in call.arguments["expression"]
    assert "<tool_call>" not in result.text and result.raw.endswith("</tool_call>")
    body = result.raw.split("<tool_call>")[1].split("</tool_call>")[0]
    assert "\n" not in body.strip()  # no raw control characters inside the JSON


def test_the_call_grammar_excludes_control_characters_in_strings():
    import json

    from personal.engine.llama import call_grammar
    from personal.engine.toolcall import call_schema

    gbnf = call_grammar(json.dumps(call_schema([CALC])))
    assert 'char ::= [^"\\\\\\x7F\\x00-\\x1F]' in gbnf
    assert 'root ::= "{" space name-kv "," space arguments-kv "}" space' in gbnf  # name first


def test_switching_back_to_a_resident_adapter_reuses_it(engine, tmp_path):
    from personal.engine import llama

    paths = [write_random_lora(engine._model.path, tmp_path / f"r{i}.gguf", std=0.08,
                               layers=8, seed=i) for i in range(llama.RESIDENT_ADAPTERS + 2)]  # fmt: skip
    try:
        engine.attach_adapter(AdapterRef("r0", paths[0]))
        first = engine.chat(FRANCE, GREEDY).complete().text
        engine.attach_adapter(AdapterRef("r1", paths[1]))
        engine.attach_adapter(AdapterRef("r0", paths[0]))  # resident: activation only
        assert engine.chat(FRANCE, GREEDY).complete().text == first
        for i, path in enumerate(paths):
            engine.attach_adapter(AdapterRef(f"r{i}", path))
        assert engine.resident_adapters == llama.RESIDENT_ADAPTERS  # oldest ones freed
        assert engine.adapter.id == f"r{len(paths) - 1}"
    finally:
        engine.detach_adapter()


def _about(words: list[str], answers: list) -> int:
    return sum(w in a.text.lower() for w, a in zip(words, answers, strict=True))


WORDS = ["cat", "dog", "tree", "car", "house", "river", "apple", "bird", "chair", "cloud",
         "book", "boat", "horse", "lamp", "shoe", "bread"]  # fmt: skip


def test_a_small_batch_context_starts_only_what_fits_and_answers_everything(engine):
    """The batch admits a prompt only when its cells (prompt + answer budget) fit beside
    the live ones: with room for ~4 at a time, 16 prompts still all get their answers."""
    from personal.engine.batch import BatchContext

    convs = [[SYSTEM, {"role": "user", "content": f"Repeat the word '{w}'."}] for w in WORDS]
    wide = engine.chat_many(convs, GREEDY)
    prompts = [engine.tokenize(engine.format.render(c)) for c in convs]
    small = BatchContext(engine._lib, engine._llm._model.model, engine._vocab, n_seq=16,
                         n_ctx=512, n_threads=2)  # fmt: skip
    try:
        narrow = small.run(prompts, GREEDY, engine.format.stops,
                           lambda t: engine._llm.detokenize([t]), False, [None] * 16)  # fmt: skip
    finally:
        small.close()
    assert len(narrow) == 16 and _about(WORDS, narrow) >= 12
    assert sum(a.text[:12] == b.text[:12] for a, b in zip(wide, narrow, strict=True)) >= 14


def test_prompts_longer_than_one_decode_chunk_keep_their_own_logits(engine):
    """The first step decodes every prompt's own tokens: over 1,024 of them go in several
    llama_decode calls, and each prompt's next-token logits must come from its own call."""
    from personal.engine.batch import _common_prefix

    filler = " ".join(["Here is some background that you may ignore."] * 12)
    convs = [[SYSTEM, {"role": "user", "content": f"{w.upper()}. {filler} Repeat the word "
                                                  f"'{w}'."}] for w in WORDS]  # fmt: skip
    prompts = [engine.tokenize(engine.format.render(c)) for c in convs]
    assert sum(len(p) for p in prompts) - 16 * _common_prefix(prompts) > 1024  # 2+ chunks
    answers = engine.chat_many(convs, GREEDY)
    alone = [engine.chat(c, GREEDY).complete() for c in convs]
    same = sum(a.text[:12] == b.text[:12] for a, b in zip(alone, answers, strict=True))
    assert same >= 13, [(a.text[:30], b.text[:30]) for a, b in zip(alone, answers, strict=True)]
