"""The MLX engine, for real: on tiny models written by the tests, and (slow) on the
embedded default, against llama.cpp."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from personal.engine import AdapterRef, GenerationParams
from personal.engine.llama import ContextOverflow
from personal.engine.mlx_engine import MLXEngine
from personal.errors import AdapterError
from tests.tinymodel import write_tiny_gemma3_gguf, write_tiny_llama_gguf

GREEDY = GenerationParams(temperature=0.0, max_tokens=12, repeat_penalty=1.0)
HELLO = [{"role": "user", "content": "hello world"}]


@pytest.fixture(scope="module")
def home(module_home):
    return module_home


@pytest.fixture(scope="module")
def tiny_path(home) -> Path:
    return write_tiny_llama_gguf(home / "tiny.gguf")


@pytest.fixture(scope="module")
def engine(home, tiny_path):
    eng = MLXEngine(tiny_path, fingerprint="7" * 64, model_name="tiny", seed=0)
    yield eng
    eng.close()


def test_info_and_tokens(engine, home):
    assert engine.info.backend == "mlx" and engine.info.model == "tiny"
    assert engine.info.extra["dtype"] == "float32"
    assert Path(engine.info.extra["model_dir"]).parent == home / "models" / "mlx"
    assert engine.count_tokens("hello world<|im_end|>") == 3
    assert engine.prompt_tokens(HELLO)[0] == 1  # <|im_start|>, parsed as a special token


def test_streams_to_max_tokens(engine):
    stream = engine.chat(HELLO, GREEDY)
    pieces = list(stream)
    result = stream.result
    assert pieces and result.text == "".join(pieces)
    assert result.usage.prompt_tokens == len(engine.prompt_tokens(HELLO))
    assert (result.usage.completion_tokens, result.usage.finish_reason) == (12, "length")
    short = engine.chat(HELLO, GenerationParams(temperature=0, max_tokens=3)).complete()
    assert (short.usage.completion_tokens, short.usage.finish_reason) == (3, "length")


def test_greedy_follows_next_token_logprobs(engine):
    logprobs = engine.next_token_logprobs(HELLO)
    assert logprobs.shape == (engine._tok.get_vocab_size(),)
    assert abs(np.logaddexp.reduce(logprobs)) < 1e-4
    assert np.allclose(logprobs, engine.next_token_logprobs(engine.format.render(HELLO)))
    first = engine.chat(HELLO, GenerationParams(temperature=0, max_tokens=1)).complete()
    assert first.text == engine.decode([int(logprobs.argmax())])


def test_sampling_is_reproducible_with_a_seed(engine):
    params = GenerationParams(temperature=1.0, top_k=0, top_p=1.0, max_tokens=12, seed=5)
    a = engine.chat(HELLO, params).complete().text
    assert engine.chat(HELLO, params).complete().text == a
    others = {engine.chat(HELLO, GenerationParams(temperature=1.5, max_tokens=12, seed=s)).complete().text
              for s in range(4)}  # fmt: skip
    assert len(others) > 1


def test_stop_string_ends_the_reply_and_is_not_emitted(engine):
    full = engine.chat(HELLO, GREEDY).complete().text
    stop = full[4:7]
    result = engine.chat(HELLO, GenerationParams(temperature=0, max_tokens=12, repeat_penalty=1.0,
                                                 stop=(stop,))).complete()  # fmt: skip
    assert result.text == full[: full.index(stop)]
    assert result.usage.finish_reason == "stop"


def test_held_back_text_is_flushed_when_no_stop_follows(engine):
    full = engine.chat(HELLO, GREEDY).complete().text
    params = GenerationParams(temperature=0, max_tokens=12, repeat_penalty=1.0,
                              stop=(full[-2:] + "\x01never",))  # fmt: skip
    result = engine.chat(HELLO, params).complete()
    assert result.text == full and result.usage.finish_reason == "length"


def test_tool_call_ends_at_its_closing_tag(engine, monkeypatch):
    # MLX has no grammar: a call is generated freely and ends at CLOSE. A random model
    # never writes "</tool_call>", so a piece of its own greedy text stands in for it.
    import personal.engine.mlx_engine as mlx_engine

    tools = [{"type": "function", "function": {"name": "now", "parameters": {}}}]
    full = engine.chat(HELLO, GREEDY, tools=tools).complete().raw
    monkeypatch.setattr(mlx_engine, "CLOSE", full[3:6])
    result = engine.chat(HELLO, GREEDY, tools=tools).complete()
    assert result.raw == full[: full.index(full[3:6]) + 3]
    assert result.usage.finish_reason == "tool_calls"


def test_end_of_turn_token_stops(home):
    path = write_tiny_llama_gguf(home / "eos.gguf", always_token="<|im_end|>")
    eng = MLXEngine(path, fingerprint="e" * 64, model_name="eos")
    result = eng.chat(HELLO, GREEDY).complete()
    assert (result.text, result.usage.completion_tokens, result.usage.finish_reason) == (
        "",
        0,
        "stop",
    )


def test_cancel_from_another_thread(engine):
    stream = engine.chat(HELLO, GenerationParams(temperature=0, max_tokens=200))
    seen = []
    for piece in stream:
        seen.append(piece)
        if len(seen) == 2:
            threading.Thread(target=stream.cancel).start()
            time.sleep(0.05)
    assert stream.result.usage.finish_reason == "cancelled"
    assert 2 <= stream.result.usage.completion_tokens < 200
    assert stream.result.text == "".join(seen)


def test_cancel_before_start_stops_during_the_prompt(engine):
    stream = engine.chat([{"role": "user", "content": "hello " * 300}], GREEDY)
    stream.cancel()
    result = stream.complete()
    assert (result.text, result.usage.finish_reason) == ("", "cancelled")


def test_context_overflow_is_a_clear_error(home, tiny_path):
    eng = MLXEngine(tiny_path, fingerprint="7" * 64, model_name="tiny", n_ctx=16)
    with pytest.raises(ContextOverflow, match="context holds 16"):
        eng.chat([{"role": "user", "content": "hello " * 20}], GREEDY).complete()


def test_tiny_gemma3_generates(home):
    path = write_tiny_gemma3_gguf(home / "gemma.gguf")
    eng = MLXEngine(path, fingerprint="9" * 64, model_name="tiny-gemma")
    assert eng.prompt_tokens(HELLO).count(2) == 1  # template's <bos>, not doubled
    result = eng.chat(HELLO, GenerationParams(temperature=0, max_tokens=4)).complete()
    assert result.usage.completion_tokens <= 4 and result.usage.finish_reason in ("length", "stop")


def test_greedy_text_matches_llama_cpp(tiny_path):
    import llama_cpp

    llm = llama_cpp.Llama(str(tiny_path), n_ctx=256, n_threads=2, verbose=False)
    eng = MLXEngine(tiny_path, fingerprint="7" * 64, model_name="tiny")
    prompt = eng.prompt_tokens(HELLO)
    ours = eng.chat(HELLO, GREEDY).complete()
    theirs = []
    for token in llm.generate(prompt, temp=0.0, repeat_penalty=1.0):
        theirs.append(token)
        if len(theirs) == ours.usage.completion_tokens:
            break
    assert ours.text == llm.detokenize(theirs).decode()
    llm.close()


# --- adapters ---------------------------------------------------------------------------
def write_adapter(path: Path, *, rank: int = 4, layers: int = 2, seed: int = 0,
                  keys: tuple[str, ...] = ("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"),
                  tamper: bool = False, num_layers: int | None = None) -> Path:  # fmt: skip
    """An mlx-lm adapter directory for the tiny llama (d=64, kv=2×16, ffn=128)."""
    import mlx.core as mx

    dims = {"self_attn.q_proj": (64, 64), "self_attn.v_proj": (64, 32), "mlp.down_proj": (128, 64)}
    rng = np.random.default_rng(seed)
    weights = {}
    for i in range(2 - layers, 2):
        for key in keys:
            n_in, n_out = dims[key]
            weights[f"model.layers.{i}.{key}.lora_a"] = rng.normal(0, 0.3, (n_in, rank))
            weights[f"model.layers.{i}.{key}.lora_b"] = rng.normal(0, 0.3, (rank, n_out))
    if tamper:
        weights["model.layers.1.self_attn.q_proj.lora_a"] = np.zeros((65, rank))
        weights["model.layers.1.self_attn.bogus.lora_a"] = np.zeros((64, rank))
        del weights["model.layers.1.mlp.down_proj.lora_b"]
    path.mkdir(parents=True)
    config = {"fine_tune_type": "lora", "num_layers": layers if num_layers is None else num_layers,
              "lora_parameters": {"rank": rank, "scale": 2.0, "dropout": 0.0, "keys": list(keys)}}  # fmt: skip
    (path / "adapter_config.json").write_text(json.dumps(config))
    mx.save_safetensors(str(path / "adapters.safetensors"),
                        {k: mx.array(v.astype(np.float32)) for k, v in weights.items()})  # fmt: skip
    return path


def test_adapter_attach_changes_output_and_detach_restores_it(engine, tmp_path):
    base = engine.next_token_logprobs(HELLO)
    engine.attach_adapter(AdapterRef("rev-a", write_adapter(tmp_path / "a")))
    try:
        adapted = engine.next_token_logprobs(HELLO)
        assert np.abs(adapted - base).max() > 0.1
        assert engine.chat(HELLO, GREEDY).complete().adapter == "rev-a"
        engine.attach_adapter(AdapterRef("rev-a0", tmp_path / "a", scale=0.0))  # swap in place
        assert np.allclose(engine.next_token_logprobs(HELLO), base, atol=1e-5)
    finally:
        engine.detach_adapter()
    assert np.array_equal(engine.next_token_logprobs(HELLO), base)


def test_adapter_matches_mlx_lm_own_loader(engine, tmp_path):
    import mlx.core as mx
    from mlx_lm.tuner.utils import load_adapters
    from mlx_lm.utils import load_model

    adapter = write_adapter(tmp_path / "all", num_layers=-1)  # -1: every layer, as mlx-lm reads it
    reference = load_adapters(load_model(Path(engine.info.extra["model_dir"]))[0], str(adapter))
    ids = engine.prompt_tokens(HELLO)
    expected = np.array(reference(mx.array(ids)[None])[0, -1])
    engine.attach_adapter(AdapterRef("all", adapter))
    try:
        got = engine.next_token_logprobs(HELLO)
    finally:
        engine.detach_adapter()
    assert np.allclose(got, expected - np.logaddexp.reduce(expected), atol=1e-4)


def test_bad_adapter_lists_every_problem_and_keeps_the_previous_one(engine, tmp_path):
    engine.attach_adapter(AdapterRef("good", write_adapter(tmp_path / "good")))
    try:
        expected = engine.next_token_logprobs(HELLO)
        with pytest.raises(AdapterError) as err:
            engine.attach_adapter(AdapterRef("bad", write_adapter(tmp_path / "bad", tamper=True)))
        message = str(err.value)
        assert "q_proj.lora_a: shape (65, 4), expected (64, 4)" in message
        assert "bogus.lora_a: not a LoRA parameter" in message
        assert "down_proj.lora_b: missing" in message
        with pytest.raises(AdapterError, match="cannot read"):
            engine.attach_adapter(AdapterRef("missing", tmp_path / "missing"))
        assert engine.adapter.id == "good"
        assert np.array_equal(engine.next_token_logprobs(HELLO), expected)
    finally:
        engine.detach_adapter()


# --- the embedded default, against llama.cpp ----------------------------------------------
# Prompts where llama.cpp's own top choice is clear. Measured on 13 prompts: top-1 agreed on
# 11; the two others were llama.cpp near-ties ("The" vs "L", " def" vs " fib").
PROMPTS = (
    [{"role": "user", "content": "Write a Python function that adds two numbers."}],
    [{"role": "system", "content": "You answer in one word."},
     {"role": "user", "content": "Name a colour of the sky on a clear day."}],
    "The 3 largest planets are Jupiter, Saturn and",
    "The quick brown fox jumps over the lazy",
)  # fmt: skip
TOKEN_TEXTS = ("Hello world", "1234567 + 89 = 1234656", "naïve café — 日本語 😀",
               "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", "  two  spaces\n\ttab")  # fmt: skip


@pytest.fixture(scope="module")
def smollm2(home, smollm2_base):
    """MLX on the float32 conversion; llama.cpp on the Q4 file and on an F32 re-export of
    it (the same values, no 8-bit activations): the reference for this CPU's kernels."""
    import llama_cpp

    from tests.f32_gguf import write_f32_gguf

    path = smollm2_base.path
    mlx = MLXEngine(path, fingerprint="smollm2-" + "0" * 56, model_name="smollm2-135m", n_ctx=1024)
    llm = llama_cpp.Llama(str(path), n_ctx=1024, n_threads=2, logits_all=True, verbose=False)
    f32 = write_f32_gguf(path, home / "smollm2-f32.gguf")
    ref = llama_cpp.Llama(str(f32), n_ctx=1024, n_threads=2, logits_all=True, verbose=False)
    yield mlx, llm, ref
    llm.close()
    ref.close()


@pytest.mark.slow
def test_smollm2_token_ids_match_llama_cpp(smollm2):
    mlx, llm, _ = smollm2
    for text in TOKEN_TEXTS:
        assert mlx.tokenize(text) == llm.tokenize(text.encode(), add_bos=True, special=True), text


def _llama_logprobs(llm, ids: list[int]) -> np.ndarray:
    llm.reset()
    llm.eval(ids)
    scores = np.array(llm.scores[len(ids) - 1], dtype=np.float64)
    return scores - np.logaddexp.reduce(scores)


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.sum(np.exp(p) * (p - q)))


@pytest.mark.slow
@pytest.mark.parametrize("prompt", PROMPTS, ids=["code", "system", "planets", "fox"])
def test_smollm2_next_token_distribution_matches_llama_cpp(smollm2, prompt):
    """MLX computes what llama.cpp computes on the same float32 values; against the Q4 file
    the only gap is llama.cpp's 8-bit activations, measured in this run on this CPU's
    kernels (AVX2 and AVX-512 round differently: 'code' measured KL 0.02 vs 0.028)."""
    mlx, llm, ref = smollm2
    ids = mlx.prompt_tokens(prompt) if isinstance(prompt, list) else mlx.tokenize(prompt)
    quantized, exact = _llama_logprobs(llm, ids), _llama_logprobs(ref, ids)
    ours = mlx.next_token_logprobs(prompt).astype(np.float64)
    gap, engines = _kl(quantized, exact), _kl(quantized, ours)
    print(f"\n{len(ids)} tokens: KL(Q4‖F32) {gap:.5f} (this CPU's quantization gap), "
          f"KL(Q4‖MLX) {engines:.5f}, KL(F32‖MLX) {_kl(exact, ours):.2e}, "
          f"corr(F32, MLX) {np.corrcoef(exact, ours)[0, 1]:.7f}")  # fmt: skip
    # the conversion is exact: float32 against float32, summed in other orders
    assert ours.argmax() == exact.argmax()
    assert np.corrcoef(exact, ours)[0, 1] >= 0.99999 and abs(_kl(exact, ours)) < 1e-3
    # against the Q4 file, MLX is as close as llama.cpp's own float32 arithmetic is
    assert engines <= 1.5 * gap + 1e-3
    assert ours.argmax() == quantized.argmax() or exact.argmax() != quantized.argmax()


@pytest.mark.slow
def test_smollm2_answers_and_reports_speed(smollm2):
    mlx, _, _ = smollm2
    france = [{"role": "user", "content": "What is the capital of France?"}]
    result = mlx.chat(france, GenerationParams(temperature=0, max_tokens=8)).complete()
    decode_s = (result.duration_ms - result.ttft_ms) / 1000
    print(f"\nMLX: {result.text!r}; first token {result.ttft_ms / 1000:.2f} s, "
          f"{(result.usage.completion_tokens - 1) / decode_s:.1f} tok/s decode")  # fmt: skip
    assert "Paris" in result.text  # (its speed is a benchmark's business, not a test's)


@pytest.mark.slow
def test_gemma3_next_token_matches_llama_cpp(personal_home):
    import llama_cpp

    from personal.models import catalog

    base = catalog.resolve("gemma3-270m")
    mlx = MLXEngine(base.path, fingerprint=base.fingerprint, model_name=base.name, n_ctx=512)
    llm = llama_cpp.Llama(str(base.path), n_ctx=512, n_threads=2, logits_all=True, verbose=False)
    text = "The capital of France is"
    ids = mlx.tokenize(text)
    assert ids == llm.tokenize(text.encode(), add_bos=True, special=True)
    llm.eval(ids)
    scores = np.array(llm.scores[len(ids) - 1], dtype=np.float64)
    ours = mlx.next_token_logprobs(text)
    assert ours.argmax() == scores.argmax()
    assert np.corrcoef(ours, scores)[0, 1] >= 0.995
    llm.close()
    shutil.rmtree(personal_home / "models", ignore_errors=True)  # ~1.3 GB
