"""GGUF → mlx-lm conversion: on tiny models written by the tests, and on the embedded default."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

from personal.errors import ModelCorrupt, UnsupportedArchitecture
from personal.models import convert
from personal.models.convert import CONVERTER_VERSION, convert_gguf, mlx_dir_for, read_conversion
from tests.tinymodel import (
    GEMMA_SPECIALS,
    byte_level_vocab,
    write_tiny_gemma3_gguf,
    write_tiny_llama_gguf,
)

TEXTS = (
    "hello world",
    "What is your name? The answer is 12345, yes.",
    "héllo wörld — 日本 😀\n\n  spaced  out\ttab",
    "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n",
)


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_tiny_llama_gguf(tmp_path / "tiny.gguf")


def _gguf_tensors(path: Path) -> dict[str, np.ndarray]:
    return {t.name: np.array(t.data) for t in gguf.GGUFReader(str(path)).tensors}


def _weights(out: Path) -> dict[str, np.ndarray]:
    import mlx.core as mx

    return {k: np.array(v) for k, v in mx.load(str(out / "model.safetensors")).items()}


def test_tiny_llama_config_weights_and_record(tiny, tmp_path):
    out = convert_gguf(tiny, tmp_path / "out", fingerprint="ab" * 32)
    config = json.loads((out / "config.json").read_text())
    tokens, _, _ = byte_level_vocab()
    assert config["model_type"] == "llama"
    assert (config["hidden_size"], config["num_hidden_layers"], config["head_dim"]) == (64, 2, 16)
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (4, 2)
    assert config["vocab_size"] == len(tokens) and config["tie_word_embeddings"] is True
    assert config["eos_token_id"] == [0, 2]  # <|endoftext|> and <|im_end|> end generation

    weights = _weights(out)
    assert all(w.dtype == np.float32 for w in weights.values())
    assert len(weights) == 1 + 1 + 2 * 9  # embeddings, final norm, 9 tensors per layer
    source = _gguf_tensors(tiny)
    assert np.array_equal(weights["model.embed_tokens.weight"], source["token_embd.weight"])
    down = weights["model.layers.1.mlp.down_proj.weight"]
    assert down.shape == (64, 128) and np.array_equal(down, source["blk.1.ffn_down.weight"])

    record = read_conversion(out)
    assert record["converter_version"] == CONVERTER_VERSION
    assert record["source"] == {
        "file": "tiny.gguf",
        "size": tiny.stat().st_size,
        "fingerprint": "ab" * 32,
    }
    assert record["dtype"] == "float32" and record["architecture"] == "llama"
    assert record["chat"]["template"].startswith("{% for message in messages %}")
    assert (record["chat"]["bos_token"], record["chat"]["eos_token"]) == (
        "<|im_start|>",
        "<|im_end|>",
    )


def test_llama_q_and_k_are_unpermuted(tiny, tmp_path):
    from tests.tinymodel import _permute

    weights = _weights(convert_gguf(tiny, tmp_path / "out"))
    source = _gguf_tensors(tiny)
    for kind, heads in (("q", 4), ("k", 2)):
        hf = weights[f"model.layers.0.self_attn.{kind}_proj.weight"]
        stored = source[f"blk.0.attn_{kind}.weight"]
        assert not np.array_equal(hf, stored)
        assert np.array_equal(_permute(hf, heads), stored)  # the writer's (llama.cpp's) permute


def test_tokenizer_files_round_trip(tiny, tmp_path):
    from tokenizers import Tokenizer

    out = convert_gguf(tiny, tmp_path / "out")
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    tokens, _, _ = byte_level_vocab()
    ids = tok.encode("hello world<|im_end|>12").ids
    assert [tokens[i] for i in ids] == ["hello", "Ġworld", "<|im_end|>", "1", "2"]
    for text in TEXTS:
        assert tok.decode(tok.encode(text).ids, skip_special_tokens=False) == text
    config = json.loads((out / "tokenizer_config.json").read_text())
    assert config["eos_token"] == "<|im_end|>" and config["add_bos_token"] is False
    assert "<|im_start|>" in config["chat_template"]


def test_mlx_lm_loads_the_directory(tiny, tmp_path):
    from mlx_lm.utils import load_model, load_tokenizer

    out = convert_gguf(tiny, tmp_path / "out")
    model, config = load_model(out)
    tokenizer = load_tokenizer(out, eos_token_ids=config["eos_token_id"])
    assert tokenizer.encode("hello world") == [tokenizer.convert_tokens_to_ids("hello"),
                                               tokenizer.convert_tokens_to_ids("Ġworld")]  # fmt: skip
    assert set(tokenizer.eos_token_ids) == {0, 2}
    assert len(model.layers) == 2


def test_tiny_gemma3_norms_config_and_tokenizer(tmp_path):
    from tokenizers import Tokenizer

    src = write_tiny_gemma3_gguf(tmp_path / "g.gguf")
    out = convert_gguf(src, tmp_path / "out")
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "gemma3_text"
    assert (config["head_dim"], config["num_key_value_heads"], config["sliding_window"]) == (
        32,
        1,
        512,
    )
    weights, source = _weights(out), _gguf_tensors(src)
    assert np.allclose(
        weights["model.layers.0.self_attn.q_norm.weight"] + 1, source["blk.0.attn_q_norm.weight"]
    )
    assert np.allclose(weights["model.norm.weight"] + 1, source["output_norm.weight"])
    assert np.array_equal(
        weights["model.layers.0.self_attn.q_proj.weight"], source["blk.0.attn_q.weight"]
    )
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    ids = tok.encode("hello world").ids
    assert ids[0] == GEMMA_SPECIALS.index("<bos>")  # this vocabulary asks for a BOS
    assert tok.decode(ids, skip_special_tokens=True) == "hello world"
    assert read_conversion(out)["chat"]["eog_token_ids"] == [1, 5]  # <eos>, <end_of_turn>


@pytest.mark.parametrize("writer", [write_tiny_llama_gguf, write_tiny_gemma3_gguf])
def test_token_ids_and_logits_match_llama_cpp(writer, tmp_path):
    import llama_cpp
    import mlx.core as mx
    from mlx_lm.utils import load_model
    from tokenizers import Tokenizer

    src = writer(tmp_path / "m.gguf")
    out = convert_gguf(src, tmp_path / "out")
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    llm = llama_cpp.Llama(str(src), n_ctx=256, n_threads=2, logits_all=True, verbose=False)
    for text in TEXTS:
        assert tok.encode(text).ids == llm.tokenize(text.encode(), add_bos=True, special=True), text
    ids = llm.tokenize(TEXTS[1].encode(), add_bos=True, special=True)
    llm.eval(ids)
    expected = np.array(llm.scores[len(ids) - 1])
    model, _ = load_model(out)
    got = np.array(model(mx.array([ids]))[0, -1])
    assert got.argmax() == expected.argmax()
    assert np.corrcoef(got, expected)[0, 1] > 0.9999
    llm.close()


def test_conversion_is_atomic(tiny, tmp_path, monkeypatch):
    out = convert_gguf(tiny, tmp_path / "out", fingerprint="old")

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(convert, "write_tokenizer", crash)
    with pytest.raises(RuntimeError):
        convert_gguf(tiny, tmp_path / "out", fingerprint="new")
    with pytest.raises(RuntimeError):
        convert_gguf(tiny, tmp_path / "fresh")
    assert read_conversion(out)["source"]["fingerprint"] == "old"  # previous one untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.gguf"]  # no leftovers


def test_reconversion_replaces_the_old_directory(tiny, tmp_path):
    out = convert_gguf(tiny, tmp_path / "out", fingerprint="one")
    convert_gguf(tiny, out, fingerprint="two")
    assert read_conversion(out)["source"]["fingerprint"] == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.gguf"]


def test_mlx_dir_for_caches_by_fingerprint(tiny, personal_home, monkeypatch):
    calls = []
    real = convert.convert_gguf
    monkeypatch.setattr(convert, "convert_gguf", lambda *a, **k: calls.append(a) or real(*a, **k))
    first = mlx_dir_for(tiny, "f" * 64)
    assert first == personal_home / "models" / "mlx" / ("f" * 16)
    assert mlx_dir_for(tiny, "f" * 64) == first and len(calls) == 1  # cached
    record = json.loads((first / "personal_conversion.json").read_text())
    record["converter_version"] = CONVERTER_VERSION - 1  # an older converter wrote it
    (first / "personal_conversion.json").write_text(json.dumps(record))
    assert mlx_dir_for(tiny, "f" * 64) == first and len(calls) == 2
    assert mlx_dir_for(tiny, "e" * 64) != first and len(calls) == 3


def test_unsupported_architecture_says_what_to_do(tmp_path):
    path = tmp_path / "qwen.gguf"
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file(), w.close()
    with pytest.raises(UnsupportedArchitecture, match="'qwen2'") as err:
        convert_gguf(path, tmp_path / "out")
    assert "llama.cpp engine" in err.value.hint
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("keep", [0.6, 0.001])
def test_truncated_file_is_model_corrupt(tiny, tmp_path, keep):
    data = tiny.read_bytes()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(data[: int(len(data) * keep)])  # tensor data cut / header cut
    with pytest.raises(ModelCorrupt, match="ends early"):
        convert_gguf(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_writer_is_fast_and_deterministic(tmp_path):
    start = time.perf_counter()
    a = write_tiny_llama_gguf(tmp_path / "a.gguf", seed=3)
    assert time.perf_counter() - start < 1.0
    b = write_tiny_llama_gguf(tmp_path / "b.gguf", seed=3)
    c = write_tiny_llama_gguf(tmp_path / "c.gguf", seed=4)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


# --- the embedded default (SmolLM2-135M-Instruct Q4_1) ------------------------------------
def _smollm2() -> Path:
    from personal.models import catalog

    return catalog.resolve("smollm2-135m").path  # ModelFileMissing if the package is not there


@pytest.mark.slow
def test_smollm2_converts_quickly(tmp_path):
    start = time.perf_counter()
    out = convert_gguf(_smollm2(), tmp_path / "out", fingerprint="s" * 64)
    seconds = time.perf_counter() - start
    print(f"SmolLM2-135M Q4_1 → MLX fp32 in {seconds:.1f} s")
    assert seconds < 60
    config = json.loads((out / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["vocab_size"]) == (
        30,
        576,
        49152,
    )
    assert (out / "model.safetensors").stat().st_size > 500e6  # 135M float32 parameters
    shutil.rmtree(out)
