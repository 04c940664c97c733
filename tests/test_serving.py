"""`ask` and the chat run with the registry's current revision attached."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from personal.adapters.manifest import BaseIdentity, Manifest
from personal.adapters.registry import WEIGHTS, Registry
from personal.adapters.serving import open_served
from personal.errors import AdapterError
from tests.lora_gguf import DISTINCT, write_random_lora


def register(reg: Registry, base, *, seed: int, broken: bool = False, std: float = 0.08):
    staged = reg.stage()
    (staged / "mlx").mkdir()
    (staged / WEIGHTS).write_bytes(f"weights {seed}".encode())
    gguf = staged / "adapter.gguf"
    write_random_lora(base.path, gguf, std=std, layers=8, seed=seed, wrong_shape=broken)
    manifest = Manifest(base=BaseIdentity(base.name, base.architecture, base.fingerprint),
                        formats={"mlx": "mlx", "gguf": "adapter.gguf"})
    return reg.commit(staged, manifest)


@pytest.fixture(scope="module")
def base(smollm2_base):
    return smollm2_base


def ask_json(*args):
    out = subprocess.run(
        [sys.executable, "-m", "personal.cli.main", "ask", "--json", "--temperature", "0",
         "--max-tokens", "12", "--no-tools", *args],
        capture_output=True, text=True, env=os.environ, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), out.stderr


def test_ask_uses_the_current_revision_and_logs_it(base):
    reg = Registry()
    rev = register(reg, base, seed=1, std=DISTINCT)
    plain, _ = ask_json("Name a color.")
    assert plain["adapter"] is None
    reg.set_current(base.fingerprint, rev, "promote")
    adapted, _ = ask_json("Name a color.")
    assert adapted["adapter"] == rev.id
    assert adapted["message"]["content"] != plain["message"]["content"]
    bare, _ = ask_json("--no-adapter", "Name a color.")
    assert bare["adapter"] is None and bare["message"] == plain["message"]


def test_a_broken_current_revision_falls_back_to_the_base_with_a_warning(base):
    reg = Registry()
    reg.set_current(base.fingerprint, register(reg, base, seed=2, broken=True), "promote")
    out, err = ask_json("Name a color.")
    assert out["adapter"] is None and "running without an adapter" in err


def test_an_explicit_revision_must_work(base):
    reg = Registry()
    broken = register(reg, base, seed=3, broken=True)
    with pytest.raises(AdapterError):
        open_served(adapter=broken.id, registry=reg)
    good = register(reg, base, seed=4)
    served = open_served(adapter=good.id[:8], registry=reg)
    try:
        assert served.engine.adapter.id == good.id and served.revision.id == good.id
    finally:
        served.engine.close()
