"""`personal adapters import`: PEFT/MLX safetensors in, pickles and misfits refused."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

from personal.adapters.formats import export_peft, write_mlx_adapter
from personal.adapters.importer import import_adapter
from personal.adapters.registry import Registry
from personal.errors import AdapterFormatError
from personal.learn.config import TrainConfig
from personal.models import catalog
from tests.tinymodel import write_tiny_llama_gguf


@pytest.fixture
def tiny(tmp_path):
    return catalog.resolve(str(write_tiny_llama_gguf(tmp_path / "tiny.gguf", n_layer=2)))


def mlx_adapter(tmp_path, base, rank=2, d=64):
    rng = np.random.default_rng(0)
    weights = {}
    for i in range(2):
        weights[f"model.layers.{i}.self_attn.q_proj.lora_a"] = rng.normal(size=(d, rank)).astype(np.float32)
        weights[f"model.layers.{i}.self_attn.q_proj.lora_b"] = rng.normal(size=(rank, d)).astype(np.float32)
    import mlx.core as mx

    out = tmp_path / "src-mlx"
    config = TrainConfig(rank=rank, scale=4.0, layers=2, targets=("self_attn.q_proj",))
    write_mlx_adapter(out, {k: mx.array(v) for k, v in weights.items()},
                      config.lora_parameters(), 2,
                      {"base_fingerprint": base.fingerprint, "dataset_sha256": None})  # fmt: skip
    return out


def test_a_peft_adapter_is_imported_as_an_unevaluated_revision(tmp_path, tiny):
    src = mlx_adapter(tmp_path, tiny)
    peft = export_peft(src, tiny, tmp_path / "peft")
    reg = Registry()
    rev = import_adapter(peft, tiny, reg)
    assert not rev.promoted and reg.current(tiny.fingerprint) is None
    assert set(rev.manifest.formats) == {"mlx", "gguf", "peft"}
    assert rev.manifest.config["rank"] == 2 and rev.manifest.config["scale"] == 4.0
    assert reg.verify(rev) == []
    again = import_adapter(src, tiny, reg)  # the same weights from MLX: the same revision
    assert again.id == rev.id


def test_pickles_and_misfits_are_refused(tmp_path, tiny):
    bad = tmp_path / "adapter_model.bin"
    bad.write_bytes(pickle.dumps({"lora": [1, 2, 3]}))
    with pytest.raises(AdapterFormatError, match="safetensors"):
        import_adapter(bad, tiny, Registry())
    other = catalog.resolve(str(write_tiny_llama_gguf(tmp_path / "wide.gguf", d=96)))
    with pytest.raises(AdapterFormatError, match="problems"):
        import_adapter(mlx_adapter(tmp_path, tiny), other, Registry())
    assert Registry().list() == []  # nothing half-registered


def test_import_from_the_cli_says_what_to_do(tmp_path, tiny):
    bad = tmp_path / "weights.pt"
    bad.write_bytes(pickle.dumps([1]))
    r = subprocess.run([sys.executable, "-m", "personal.cli.main", "adapters", "import", str(bad),
                        "--model", str(tiny.path)], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 1 and "error:" in r.stderr and "Traceback" not in r.stderr
