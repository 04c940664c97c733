"""An adapter file from elsewhere is judged from its header before any tensor is loaded,
and every malformed input ends as AdapterFormatError; an imported revision can be
evaluated.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import numpy as np
import pytest

from personal.adapters import formats
from personal.adapters.formats import load_adapter
from personal.adapters.importer import import_adapter
from personal.adapters.registry import Registry
from personal.errors import AdapterFormatError
from personal.models import catalog
from tests.test_import_adapter import mlx_adapter
from tests.tinymodel import write_tiny_llama_gguf

D, R = 64, 2


@pytest.fixture
def tiny(tmp_path):
    return catalog.resolve(str(write_tiny_llama_gguf(tmp_path / "tiny.gguf", n_layer=2)))


def safetensors(path, tensors: dict[str, tuple[str, tuple[int, ...], bytes]], header=None):
    """Write a safetensors file by hand (any dtype, any header)."""
    head, offset, blobs = {}, 0, []
    for name, (dtype, shape, data) in tensors.items():
        head[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = (header if header is not None else json.dumps(head)).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))
    return path


def f32(*shape: int, value: float = 0.1) -> tuple[str, tuple[int, ...], bytes]:
    return ("F32", shape, np.full(shape, value, np.float32).tobytes())


def pair(layer: str = "0", a=None, b=None) -> dict:
    return {f"model.layers.{layer}.self_attn.q_proj.lora_a": a or f32(D, R),
            f"model.layers.{layer}.self_attn.q_proj.lora_b": b or f32(R, D)}  # fmt: skip


@pytest.fixture
def no_loading(monkeypatch):
    def refuse(path):
        raise AssertionError("tensors were loaded before the header was judged")

    monkeypatch.setattr(formats, "_load_tensors", refuse)


@pytest.mark.parametrize("tensors, message", [
    ({**pair(), "model.layers.0.self_attn.q_proj.lora_c": f32(2, 2)}, "not a LoRA parameter"),
    (pair(layer="²"), "not a LoRA parameter"),  # str.isdigit() says yes; int() says no
    (pair(layer="١"), "not a LoRA parameter"),
    (pair(a=("I32", (D, R), b"\0" * D * R * 4)), "dtype I32"),
    (pair(a=f32(D, 600), b=f32(600, D)), "rank 600"),
    (pair(a=f32(D + 1, R)), "expected (64, 2)"),
    (pair(a=f32(D, R, 1)), "3-D tensor"),
])  # fmt: skip
def test_names_dtypes_shapes_and_sizes_are_judged_from_the_header(tmp_path, tiny, no_loading,
                                                                  tensors, message):
    path = safetensors(tmp_path / "adapters.safetensors", tensors)
    with pytest.raises(AdapterFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_adapter(path, tiny)


@pytest.mark.parametrize("header", [
    "[" * 100_000, '{"t": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}}',
    '{"t": {"dtype": "F32", "shape": [true, 2], "data_offsets": [0, 8]}}',
    '{"t": {"dtype": "F32", "shape": "ab", "data_offsets": [0, 8]}}', '"a string"',
])  # fmt: skip
def test_malformed_headers_are_typed_errors(tmp_path, tiny, no_loading, header):
    path = safetensors(tmp_path / "adapters.safetensors", {}, header=header)
    path.write_bytes(path.read_bytes() + b"\0" * 16)
    with pytest.raises(AdapterFormatError):
        load_adapter(path, tiny)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused(tmp_path, tiny, bad):
    path = safetensors(tmp_path / "adapters.safetensors", pair(b=f32(R, D, value=bad)))
    with pytest.raises(AdapterFormatError, match="NaN or infinite"):
        load_adapter(path, tiny)


@pytest.mark.parametrize("config, message", [
    ("{not json", "not readable JSON"), ("[1, 2]", "not a JSON object"),
    ('{"lora_alpha": "x", "r": 2}', "not a number"),
    ('{"lora_parameters": {"scale": "NaN"}}', "not a positive number"),
    ('{"lora_parameters": {"scale": -4}}', "not a positive number"),
    ('{"lora_parameters": {"scale": 1e300}}', "not a positive number"),
    ('{"lora_parameters": []}', "no adapter_config.json"),
])  # fmt: skip
def test_malformed_configs_and_scales_are_typed_errors(tmp_path, tiny, config, message):
    folder = tmp_path / "adapter"
    folder.mkdir()
    safetensors(folder / "adapters.safetensors", pair())
    (folder / "adapter_config.json").write_text(config)
    with pytest.raises(AdapterFormatError, match=message):
        import_adapter(folder, tiny, Registry())
    assert Registry().list() == []


def test_a_non_finite_scale_from_the_command_line_is_refused(tmp_path, tiny):
    path = safetensors(tmp_path / "adapters.safetensors", pair())
    result = subprocess.run([sys.executable, "-m", "personal.cli.main", "adapters", "import",
                             str(path), "--scale", "nan", "--model", str(tiny.path)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not a positive number" in result.stderr


def test_an_imported_revision_is_evaluated_on_the_current_revisions_data(tmp_path, tiny):
    from personal.adapters.manifest import DatasetRef
    from personal.learn.dataset import example, write_dataset

    turns = [("hello", "hello you"), ("what is the time", "it is time"), ("how are you", "good")]
    test = [example([{"role": "user", "content": q}, {"role": "assistant", "content": a}],
                    "answer") for q, a in turns]  # fmt: skip
    data = write_dataset({"train": test, "test": test},
                         {"base": {"name": tiny.name, "fingerprint": tiny.fingerprint}})  # fmt: skip
    reg = Registry()
    imported = import_adapter(mlx_adapter(tmp_path, tiny), tiny, reg)
    current = trained_revision(reg, tiny, tmp_path, DatasetRef(hash=data.hash, path=str(data.path)))
    reg.set_current(tiny.fingerprint, current, "promote")
    result = subprocess.run([sys.executable, "-m", "personal.cli.main", "adapters", "eval",
                             imported.id[:12], "--model", str(tiny.path)], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert f"the dataset of the current revision {current.short}" in said


def trained_revision(reg, base, tmp_path, dataset):
    """A revision as training registers it: other weights, and the dataset it learned."""
    import mlx.core as mx

    from personal.adapters.formats import export_all, write_mlx_adapter
    from personal.adapters.identity import base_identity
    from personal.adapters.manifest import Manifest, Verdict

    rng = np.random.default_rng(1)
    weights = {k: mx.array(rng.normal(size=v[1]).astype(np.float32) * 0.01)
               for k, v in pair().items()}  # fmt: skip
    lora = {"rank": R, "scale": 2.0, "dropout": 0.0, "keys": ["self_attn.q_proj"]}
    write_mlx_adapter(tmp_path / "trained", weights, lora, 2, {})
    staged = reg.stage()
    formats = export_all(tmp_path / "trained", base, staged)
    return reg.commit(staged, Manifest(base=base_identity(base), formats=formats,
                                       dataset=dataset, verdict=Verdict(True)))  # fmt: skip
