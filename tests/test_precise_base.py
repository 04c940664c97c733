"""A host's higher-precision copy of a base: the same weights (F32) or the same model (F16),
told apart from another model by the base identity."""

from __future__ import annotations

import pytest

from personal.adapters.manifest import BaseIdentity
from personal.engine import GenerationParams
from personal.engine.llama import LlamaEngine
from personal.models import catalog
from personal.models.convert import mlx_dir_for, read_conversion
from personal.models.precise import digests, write_precise
from tests.q8_gguf import write_q8_gguf
from tests.tinymodel import write_tiny_llama_gguf


def identity(base, digests, source: str = "tiny/source") -> BaseIdentity:
    return BaseIdentity(base.name, base.architecture, base.fingerprint, source,
                        base.quantization, digests["weights_sha256"], digests["shapes_sha256"])  # fmt: skip


@pytest.fixture
def q8(tmp_path):
    f32 = write_tiny_llama_gguf(tmp_path / "tiny.gguf", n_layer=2)
    return catalog.resolve(str(write_q8_gguf(f32, tmp_path / "tiny.Q8_0.gguf")))


def test_f32_has_the_conversions_weights_and_f16_only_its_shapes(tmp_path, q8):
    conversion = read_conversion(mlx_dir_for(q8.path, q8.fingerprint))
    device = identity(q8, conversion)
    f32 = write_precise(q8, tmp_path / "host.F32.gguf")
    assert f32 == {k: conversion[k] for k in ("weights_sha256", "shapes_sha256")}
    assert digests(q8) == f32  # without writing anything
    host = catalog.resolve(str(tmp_path / "host.F32.gguf"))
    assert host.fingerprint != q8.fingerprint and host.quantization == "ALL_F32"
    assert device.compare(identity(host, f32)) == "same-weights"
    f16 = write_precise(q8, tmp_path / "host.F16.gguf", "F16")
    assert f16["shapes_sha256"] == conversion["shapes_sha256"]
    assert f16["weights_sha256"] != conversion["weights_sha256"]
    half = catalog.resolve(str(tmp_path / "host.F16.gguf"))
    assert device.compare(identity(half, f16)) == "same-model"
    other = catalog.resolve(str(write_tiny_llama_gguf(tmp_path / "other.gguf", seed=3)))
    theirs = read_conversion(mlx_dir_for(other.path, other.fingerprint))
    assert device.compare(identity(other, theirs, "someone/else")) == "different"


def test_the_host_file_runs_and_keeps_tokenizer_and_template(tmp_path, q8):
    write_precise(q8, tmp_path / "host.F32.gguf")
    host = catalog.resolve(str(tmp_path / "host.F32.gguf"))
    assert host.chat_template == q8.chat_template
    messages = [{"role": "user", "content": "hello"}]
    engines = [LlamaEngine(m, n_ctx=256, n_threads=2) for m in (q8, host)]
    try:
        assert engines[0].prompt_tokens(messages) == engines[1].prompt_tokens(messages)
        text = engines[1].chat(messages, GenerationParams(temperature=0, max_tokens=4)).complete()
        assert text.usage.completion_tokens > 0
    finally:
        for e in engines:
            e.close()


@pytest.mark.model
def test_smollm2_at_f32_has_the_conversions_weights(tmp_path, smollm2_base, module_home):
    conversion = read_conversion(mlx_dir_for(smollm2_base.path, smollm2_base.fingerprint))
    digests = write_precise(smollm2_base, tmp_path / "smollm2.F32.gguf")
    assert digests["weights_sha256"] == conversion["weights_sha256"]
