"""The recipes of docs/use-elsewhere.md, run as written: a revision trained and exported by
personal (on a tiny llama made by the tests), then loaded by llama-cpp-python, mlx-lm and
Hugging Face PEFT — each agreeing with the others on what the adapter does, and each
refusing (or being refused) when given another base. The PEFT recipe needs torch, which
./dev setup installs beside the venv (tests/conftest.py puts it on the path)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from personal.adapters.identity import base_identity
from personal.adapters.manifest import Manifest, Verdict
from personal.adapters.registry import Registry
from personal.cli.main import app
from personal.fileio import sha256_file
from tests.test_export import trained
from tests.tinymodel import write_tiny_gemma3_gguf, write_tiny_llama_gguf

runner = CliRunner()
PROMPT = "hello world"


@pytest.fixture(scope="module")
def exported(module_home):
    """(base GGUF, gemma GGUF, out dir): a registered revision exported by the CLI as the
    recipes say, with the base exported in Hugging Face format."""
    gguf = write_tiny_llama_gguf(module_home / "tiny.gguf")
    base, rev_dir = trained(module_home, "elsewhere", gguf, layers=2)
    reg = Registry()
    staged = reg.stage()
    shutil.copytree(rev_dir, staged, dirs_exist_ok=True)
    manifest = Manifest(base=base_identity(base), verdict=Verdict(True),
                        formats={"mlx": "mlx", "gguf": "adapter.gguf", "peft": "peft"})  # fmt: skip
    rev = reg.commit(staged, manifest)
    out = module_home / "out"
    env = {"PERSONAL_HOME": str(module_home)}
    for fmt in ("gguf", "mlx", "peft"):
        r = runner.invoke(app, ["adapters", "export", rev.id[:12], str(out), "-f", fmt,
                                "-m", str(gguf)], env=env)  # fmt: skip
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["models", "export", str(out / "base"), "-m", str(gguf)], env=env)
    assert r.exit_code == 0, r.output
    public = json.loads((out / f"{rev.short}.manifest.json").read_text())
    assert public["base"]["fingerprint"] == base.fingerprint  # which base it belongs to
    return gguf, write_tiny_gemma3_gguf(module_home / "other.gguf"), out


def mlx_logits(model_dir: Path, adapter: Path | None) -> np.ndarray:
    import mlx.core as mx
    from mlx_lm import load

    model, tokenizer = load(str(model_dir), adapter_path=str(adapter) if adapter else None)
    ids = tokenizer.encode(PROMPT)
    return np.array(model(mx.array([ids]))[0], dtype=np.float64), ids


def test_llama_cpp_python_recipe(exported):
    from llama_cpp import Llama

    gguf, other, out = exported
    greedy = {"max_tokens": 8, "temperature": 0.0, "repeat_penalty": 1.0}
    plain = Llama(model_path=str(gguf), n_ctx=256, verbose=False, logits_all=True)
    with_adapter = Llama(model_path=str(gguf), lora_path=str(out / "adapter.gguf"), n_ctx=256,
                         verbose=False, logits_all=True)  # fmt: skip
    assert with_adapter(PROMPT, **greedy)["choices"][0]["text"] != plain(PROMPT, **greedy)[
        "choices"][0]["text"]  # fmt: skip
    # the adapter does in llama.cpp what it does in MLX: the same next token everywhere
    reference, ids = mlx_logits(out / "base", out / "mlx")
    with_adapter.reset()
    with_adapter.eval(with_adapter.tokenize(PROMPT.encode(), add_bos=False, special=True))
    assert with_adapter.tokenize(PROMPT.encode(), add_bos=False, special=True) == ids
    ours = np.array(with_adapter.scores[: len(ids)], dtype=np.float64)
    assert (ours.argmax(-1) == reference.argmax(-1)).all()
    assert np.abs(ours - reference).max() < 1e-2 * np.abs(reference).max()
    # an adapter belongs to one base. On another, llama.cpp refuses it ("model arch and LoRA
    # arch mismatch") yet llama-cpp-python 0.3.36 returns a Llama that crashes at the first
    # token (run apart: it is a segfault). The recipe's check of the base's SHA-256 against
    # the revision's manifest is what catches it first.
    wrong = subprocess.run([sys.executable, "-c", (
        "import sys; from llama_cpp import Llama\n"
        "m = Llama(model_path=sys.argv[1], lora_path=sys.argv[2], n_ctx=256, verbose=False)\n"
        "print('loaded', flush=True); print(m('hello', max_tokens=4)['choices'][0]['text'])"),
        str(other), str(out / "adapter.gguf")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert wrong.returncode != 0, wrong.stdout
    (manifest,) = out.glob("*.manifest.json")
    belongs_to = json.loads(manifest.read_text())["base"]["fingerprint"]
    assert sha256_file(gguf) == belongs_to != sha256_file(other)


def test_mlx_lm_recipe(exported):
    gguf, other, out = exported
    command = [str(Path(sys.executable).parent / "mlx_lm.generate"), "--model", str(out / "base"),
               "--prompt", PROMPT, "--max-tokens", "8", "--temp", "0", "--ignore-chat-template"]  # fmt: skip
    adapted = subprocess.run([*command, "--adapter-path", str(out / "mlx")], capture_output=True,
                             text=True, timeout=300)  # fmt: skip
    plain = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert adapted.returncode == 0 and plain.returncode == 0, adapted.stderr + plain.stderr
    answer = lambda r: r.stdout.split("==========")[1].strip()  # noqa: E731
    assert answer(adapted) != answer(plain)
    # an adapter belongs to one base: mlx-lm refuses it on another (other shapes)
    other_dir = out / "other-base"
    r = runner.invoke(app, ["models", "export", str(other_dir), "-m", str(other)],
                      env={"PERSONAL_HOME": str(out.parent)})  # fmt: skip
    assert r.exit_code == 0, r.output
    wrong = subprocess.run([*command[:2], str(other_dir), *command[3:], "--adapter-path",
                            str(out / "mlx")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert wrong.returncode != 0


def test_peft_recipe(exported):
    try:
        import torch
        from peft import PeftModel
    except ImportError as e:
        pytest.fail(f"torch and peft are missing ({e}): ./dev setup installs them in .venv/peft-site")
    from transformers import AutoModelForCausalLM

    gguf, other, out = exported
    base = AutoModelForCausalLM.from_pretrained(str(out / "base"), torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(out / "peft"))
    reference, ids = mlx_logits(out / "base", out / "mlx")
    plain, _ = mlx_logits(out / "base", None)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].double().numpy()
    scale = np.abs(reference).max()
    assert np.abs(logits - reference).max() < 1e-3 * scale  # the adapter's effect, in PEFT
    assert np.abs(plain - reference).max() > 1e-2 * scale  # (and it has one)
    print(f"\nPEFT vs MLX: max |Δlogit| {np.abs(logits - reference).max():.2e} (scale {scale:.2f})")


@pytest.mark.model
def test_the_embedded_base_exports_for_mlx_lm(tmp_path, smollm2_base):
    """The real tokenizer and chat template travel with `personal models export`."""
    r = runner.invoke(app, ["models", "export", str(tmp_path / "smollm2")])
    assert r.exit_code == 0, r.output
    answer = subprocess.run(
        [str(Path(sys.executable).parent / "mlx_lm.generate"), "--model", str(tmp_path / "smollm2"),
         "--prompt", "What is the capital of France?", "--max-tokens", "12", "--temp", "0"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert "Paris" in answer.stdout.split("==========")[1]
