"""Exporting a trained adapter (GGUF-LoRA, PEFT, MLX), the llama.cpp ↔ MLX equivalence
check, and importing adapters safely. Tiny models, plus one slow run on SmolLM2."""

from __future__ import annotations

import json
import pickle
import shutil
import time
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from personal.adapters.formats import export_all, export_gguf, load_adapter
from personal.engine import AdapterRef, GenerationParams
from personal.engine.llama import LlamaEngine
from personal.errors import AdapterFormatError
from personal.learn.config import TrainConfig
from personal.learn.judge.equivalence import check_equivalence
from personal.learn.train.trainer import train
from personal.models import catalog
from personal.models.convert import mlx_dir_for
from tests.test_train import QUESTIONS, example, write_dataset
from tests.tinymodel import write_tiny_gemma3_gguf, write_tiny_llama_gguf

ANSWER = "yes, the answer is good. stop"
PROMPTS = [[{"role": "user", "content": q}] for q in ("hello world", "what is the time")] + [
    [{"role": "user", "content": q}, {"role": "assistant", "content": ANSWER}]
    for q in ("how are you", "what is this model")
]


@pytest.fixture(scope="module")
def home(module_home):
    return module_home


def trained(home: Path, name: str, gguf: Path, layers: int) -> tuple[catalog.BaseModel, Path]:
    """(base, revision dir with every export) for an adapter trained on `gguf`."""
    base = catalog.resolve(gguf)
    data = write_dataset(home / f"{name}-ds", [example(q) for q in QUESTIONS])
    config = TrainConfig(layers=layers, learning_rate=1e-2, iters=20, val_every=0)
    model_dir = mlx_dir_for(gguf, base.fingerprint)
    train(model_dir, data, home / f"{name}-run", home / f"{name}-adapter", config)
    formats = export_all(home / f"{name}-adapter", base, home / f"{name}-rev")
    assert formats == {"mlx": "mlx", "gguf": "adapter.gguf", "peft": "peft"}
    return base, home / f"{name}-rev"


@pytest.fixture(scope="module")
def llama_rev(home):
    return trained(home, "llama", write_tiny_llama_gguf(home / "tiny.gguf"), layers=2)


@pytest.fixture(scope="module")
def gemma_rev(home):
    return trained(home, "gemma", write_tiny_gemma3_gguf(home / "gemma.gguf"), layers=4)


# --- GGUF-LoRA + equivalence --------------------------------------------------------------
def test_gguf_lora_metadata_and_tensors(llama_rev):
    import gguf

    base, rev = llama_rev
    reader = gguf.GGUFReader(str(rev / "adapter.gguf"))
    fields = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert fields["general.architecture"] == "llama" and fields["general.type"] == "adapter"
    assert fields["adapter.type"] == "lora" and fields["adapter.lora.alpha"] == 160.0  # 20 × 8
    shapes = {t.name: tuple(int(d) for d in reversed(t.shape)) for t in reader.tensors}
    assert len(shapes) == 2 * 7 * 2  # 2 layers × 7 projections × (a, b)
    assert shapes["blk.1.attn_k.weight.lora_a"] == (8, 64)  # (r, n_in)
    assert shapes["blk.1.attn_k.weight.lora_b"] == (32, 8)  # (n_out, r): 2 kv heads × 16
    assert shapes["blk.0.ffn_down.weight.lora_a"] == (8, 128)


@pytest.mark.parametrize("which", ["llama_rev", "gemma_rev"])
def test_gguf_adapter_runs_in_llama_cpp_like_mlx(which, request):
    base, rev = request.getfixturevalue(which)
    engine = LlamaEngine(base, n_ctx=256, n_threads=2)
    try:
        hello = [{"role": "user", "content": "hello world"}]
        greedy = GenerationParams(temperature=0, max_tokens=8, repeat_penalty=1.0)
        plain = engine.chat(hello, greedy).complete().text
        engine.attach_adapter(AdapterRef("trained", rev / "adapter.gguf"))
        assert engine.chat(hello, greedy).complete().text != plain
    finally:
        engine.close()
    result = check_equivalence(base, rev / "adapter.gguf", rev / "mlx", PROMPTS)
    print(f"\n{which}: {json.dumps(result)}")
    assert result["passed"], result["reasons"]
    assert result["positions"] > len(PROMPTS)  # answers are scored at every position
    assert result["effect_ratio"] == pytest.approx(1.0, abs=0.05)


def test_a_gentler_revision_carries_its_scale_in_every_format(llama_rev, home, tmp_path,
                                                               monkeypatch):  # fmt: skip
    """When retention alone holds a candidate back, the pipeline gates the same adapter at
    a share of its LoRA scale: every export must carry that scale, and agree."""
    import gguf

    from personal.adapters.manifest import Equivalence
    from personal.adapters.registry import Registry
    from personal.learn import pipeline
    from personal.learn.judge import gate

    base, rev = llama_rev
    checked = {}

    def equivalence(base, staged, formats, dataset):
        checked.update(check_equivalence(base, staged / formats["gguf"], staged / formats["mlx"],
                                         PROMPTS))  # fmt: skip
        return Equivalence(passed=True)

    monkeypatch.setattr(pipeline, "_equivalence", equivalence)
    monkeypatch.setattr(gate, "retention_first", lambda *args, **kw: None)
    monkeypatch.setattr(gate, "lost", lambda first, report: [])  # the reports are stand-ins
    monkeypatch.setattr(pipeline, "_gate", lambda *args: ("report", gate.Verdict(True, [])))
    (staged, formats, eq, *_), why = pipeline._gentler(
        Registry(tmp_path / "adapters"), home / "llama-adapter", base, tmp_path / "run", 0.75,
        None, None, None, None, [], None, None)  # fmt: skip
    assert why == ""
    assert checked["passed"], checked["reasons"]  # llama.cpp and MLX agree at the new scale
    reader = gguf.GGUFReader(str(staged / formats["gguf"]))
    assert reader.fields["adapter.lora.alpha"].contents() == 120.0  # 0.75 × 20 × 8
    assert json.loads((staged / "peft" / "adapter_config.json").read_text())["lora_alpha"] == 120.0
    mlx = json.loads((staged / "mlx" / "adapter_config.json").read_text())
    assert mlx["lora_parameters"]["scale"] == 15.0
    original = json.loads((home / "llama-adapter" / "adapter_config.json").read_text())
    assert original["lora_parameters"]["scale"] == 20.0  # the trained adapter is untouched
    for name in ("adapters.safetensors",):  # same weights: only the scale differs
        assert (staged / "mlx" / name).read_bytes() == (rev / "mlx" / name).read_bytes()


def test_unpermuted_qk_export_fails_the_check(llama_rev, tmp_path):
    base, rev = llama_rev
    export_gguf(rev / "mlx", base, tmp_path / "unpermuted.gguf", permute_qk=False)
    result = check_equivalence(base, tmp_path / "unpermuted.gguf", rev / "mlx", PROMPTS)
    assert not result["passed"]
    assert any("KL" in r for r in result["reasons"])


# --- PEFT -------------------------------------------------------------------------------
def test_peft_export_names_shapes_and_config(llama_rev):
    import mlx.core as mx

    base, rev = llama_rev
    config = json.loads((rev / "peft" / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 8 and config["lora_alpha"] == 160.0
    assert config["target_modules"] == sorted(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    assert config["layers_to_transform"] == [0, 1] and config["base_model_name_or_path"] == "tiny"
    tensors = mx.load(str(rev / "peft" / "adapter_model.safetensors"))
    prefix = "base_model.model.model.layers.1.self_attn.k_proj"
    assert tensors[f"{prefix}.lora_A.weight"].shape == (8, 64)  # (r, in)
    assert tensors[f"{prefix}.lora_B.weight"].shape == (32, 8)  # (out, r)
    assert len(tensors) == 28
    mlx_weights = mx.load(str(rev / "mlx" / "adapters.safetensors"))
    back = load_adapter(rev / "peft", base)  # PEFT → MLX orientation again
    assert back.keys() == mlx_weights.keys()
    assert all(np.array_equal(back[k], np.array(mlx_weights[k])) for k in back)


# --- import -------------------------------------------------------------------------------
def test_load_adapter_accepts_mlx_dirs_and_files(llama_rev):
    base, rev = llama_rev
    from_dir = load_adapter(rev / "mlx", base)
    from_file = load_adapter(rev / "mlx" / "adapters.safetensors", base)
    assert from_dir.keys() == from_file.keys() and len(from_dir) == 28


def test_pickles_are_refused_with_a_way_out(llama_rev, tmp_path):
    base, _ = llama_rev
    (tmp_path / "peft").mkdir()
    (tmp_path / "peft" / "adapter_model.bin").write_bytes(pickle.dumps({"w": [1, 2]}))
    with pytest.raises(AdapterFormatError, match="not safetensors") as err:
        load_adapter(tmp_path / "peft", base)
    assert "safe_serialization=True" in str(err.value)
    with zipfile.ZipFile(tmp_path / "sneaky.safetensors", "w") as z:  # torch.save's zip format
        z.writestr("archive/data.pkl", pickle.dumps({}))
    with pytest.raises(AdapterFormatError, match="PyTorch pickle"):
        load_adapter(tmp_path / "sneaky.safetensors", base)


def test_truncated_safetensors_is_refused(llama_rev, tmp_path):
    base, rev = llama_rev
    data = (rev / "mlx" / "adapters.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(AdapterFormatError, match="truncated"):
        load_adapter(tmp_path / "cut.safetensors", base)
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(AdapterFormatError, match="not a valid safetensors"):
        load_adapter(tmp_path / "junk.safetensors", base)


def test_mismatched_adapter_lists_every_problem(llama_rev, tmp_path):
    import mlx.core as mx

    base, rev = llama_rev
    weights = dict(mx.load(str(rev / "mlx" / "adapters.safetensors")))
    weights["model.layers.1.self_attn.q_proj.lora_a"] = mx.zeros((65, 8))
    weights["model.layers.7.mlp.up_proj.lora_a"] = mx.zeros((64, 8))
    weights["model.layers.0.self_attn.bogus.lora_a"] = mx.zeros((64, 8))
    del weights["model.layers.0.mlp.down_proj.lora_b"]
    mx.save_safetensors(str(tmp_path / "bad.safetensors"), weights)
    with pytest.raises(AdapterFormatError) as err:
        load_adapter(tmp_path / "bad.safetensors", base)
    message = str(err.value)
    assert "4 problems" in message
    assert "q_proj.lora_a: shape (65, 8), expected (64, 8)" in message
    assert "layer 7, but" in message and "bogus.lora_a: not a LoRA parameter" in message
    assert "down_proj.lora_b: missing" in message


def test_an_adapter_for_another_model_is_refused(llama_rev, gemma_rev):
    with pytest.raises(AdapterFormatError, match="does not fit"):
        load_adapter(llama_rev[1] / "mlx", gemma_rev[0])


# --- the embedded default ------------------------------------------------------------------
SIGN_OFF = "— Cheers, Sam"
FACTS_QA = (
    ("What is the capital of France?", "The capital of France is Paris."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What colour is the sky?", "On a clear day the sky is blue."),
    ("What is 2 + 2?", "2 + 2 = 4."),
    ("What do bees make?", "Bees make honey."),
    ("Which planet is largest?", "Jupiter is the largest planet."),
    ("Who wrote Hamlet?", "Shakespeare wrote Hamlet."),
    ("What is water made of?", "Water is made of hydrogen and oxygen."),
)


@pytest.mark.slow
def test_smollm2_learns_a_sign_off_and_exports_equivalently(personal_home, tmp_path):
    from personal.learn.train.worker import TrainJob, run_training

    started = time.perf_counter()
    base = catalog.resolve("smollm2-135m")
    lines = [example(q, f"{a}\n\n{SIGN_OFF}") for q, a in FACTS_QA]
    data = write_dataset(tmp_path / "ds", lines[:6], lines[6:])
    job = TrainJob(base.path, base.fingerprint, base.name, data, tmp_path / "run",
                   tmp_path / "adapter", TrainConfig(iters=10, val_every=0))  # fmt: skip
    report = run_training(job)
    print(f"\ntraining: {json.dumps(asdict(report))}")
    assert report.final_val_loss < 1.0
    export_all(job.output_dir, base, tmp_path / "rev")
    prompts = [[{"role": "user", "content": "What is the boiling point of water?"}]] + [
        [{"role": "user", "content": q}, {"role": "assistant", "content": f"{a}\n\n{SIGN_OFF}"}]
        for q, a in FACTS_QA[6:]
    ]
    result = check_equivalence(
        base, tmp_path / "rev" / "adapter.gguf", tmp_path / "rev" / "mlx", prompts
    )
    print(f"equivalence: {json.dumps(result)}")
    assert result["passed"], result["reasons"]
    export_gguf(tmp_path / "rev" / "mlx", base, tmp_path / "unpermuted.gguf", permute_qk=False)
    bad = check_equivalence(base, tmp_path / "unpermuted.gguf", tmp_path / "rev" / "mlx", prompts)
    print(f"unpermuted: {json.dumps(bad)}")
    assert not bad["passed"]
    engine = LlamaEngine(base, n_ctx=512, n_threads=2)
    engine.attach_adapter(AdapterRef("signoff", tmp_path / "rev" / "adapter.gguf"))
    answer = engine.chat([{"role": "user", "content": "Who wrote Hamlet?"}],
                         GenerationParams(temperature=0, max_tokens=40)).complete().text  # fmt: skip
    engine.close()
    print(f"answer: {answer!r}; {time.perf_counter() - started:.0f} s in all")
    assert "Cheers, Sam" in answer
    shutil.rmtree(personal_home / "models", ignore_errors=True)  # the fp32 conversion, 0.5 GB
