"""The adapter registry: content-addressed, immutable revisions; an atomic current pointer."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys

import pytest

from personal.adapters.manifest import BaseIdentity, Manifest, Verdict
from personal.adapters.registry import WEIGHTS, Registry
from personal.errors import AmbiguousRevision, RegistryError, RevisionNotFound

BASE = "b" * 64


def build(reg: Registry, payload: bytes, parent: str | None = None, base: str = BASE):
    staged = reg.stage()
    (staged / "mlx").mkdir()
    (staged / WEIGHTS).write_bytes(payload)
    (staged / "adapter.gguf").write_bytes(b"gguf" + payload)
    manifest = Manifest(parent=parent, base=BaseIdentity("tiny", "llama", base),
                        formats={"mlx": "mlx", "gguf": "adapter.gguf"}, verdict=Verdict(True))
    return reg.commit(staged, manifest)


def test_revisions_are_content_addressed_and_immutable(tmp_path):
    reg = Registry(tmp_path)
    a = build(reg, b"weights-a")
    assert len(a.id) == 64 and a.path.name == a.id
    assert build(reg, b"weights-a").id == a.id  # same weights, same revision
    assert len(reg.list()) == 1
    assert (a.path / WEIGHTS).stat().st_mode & 0o222 == 0  # read-only
    assert set(a.manifest.files) == {WEIGHTS, "adapter.gguf"}
    assert reg.verify(a) == []
    os.chmod(a.path / "adapter.gguf", 0o644)
    (a.path / "adapter.gguf").write_bytes(b"tampered")
    assert reg.verify(a) == ["adapter.gguf: contents changed (hash mismatch)"]


def test_lookup_by_prefix(tmp_path):
    reg = Registry(tmp_path)
    a = build(reg, b"a")
    assert reg.get(a.id[:6]).id == a.id
    with pytest.raises(RevisionNotFound):
        reg.get("ffffffff")
    with pytest.raises(RevisionNotFound):
        reg.get(a.id[:2])  # too short to mean anything
    seen: dict[str, bytes] = {}
    for i in range(100_000):  # two payloads whose hashes share 4 hex digits
        payload = f"w{i}".encode()
        prefix = hashlib.sha256(payload).hexdigest()[:4]
        if prefix in seen:
            break
        seen[prefix] = payload
    build(reg, seen[prefix])
    build(reg, payload)
    with pytest.raises(AmbiguousRevision):
        reg.get(prefix)


def test_current_pointer_promote_and_rollback(tmp_path):
    reg = Registry(tmp_path)
    assert reg.current(BASE) is None
    a, b = build(reg, b"a"), build(reg, b"b")
    reg.set_current(BASE, a, "promote")
    reg.set_current(BASE, b, "promote")
    assert reg.current(BASE).id == b.id
    assert reg.rollback(BASE).id == a.id
    assert reg.current(BASE).id == a.id
    assert reg.rollback(BASE) is None  # before a: no adapter
    assert reg.current(BASE) is None
    assert reg.rollback(BASE) is None  # nothing further back
    reg.rollback(BASE, to=b)
    assert reg.current(BASE).id == b.id
    reg.set_current(BASE, a, "promote")
    assert reg.pointer(BASE)["stack"] == [b.id, a.id]
    hist = [h["reason"] for h in reg.pointer(BASE)["history"]]
    assert hist == ["promote", "promote", "rollback", "rollback", "rollback", "rollback", "promote"]


def test_revisions_are_bound_to_their_base(tmp_path):
    reg = Registry(tmp_path)
    other = build(reg, b"x", base="c" * 64)
    with pytest.raises(RegistryError, match="another base"):
        reg.set_current(BASE, other, "promote")
    assert reg.list(BASE) == [] and len(reg.list("c" * 64)) == 1


def test_remove_refuses_the_current_revision(tmp_path):
    reg = Registry(tmp_path)
    a, b = build(reg, b"a"), build(reg, b"b")
    reg.set_current(BASE, a, "promote")
    with pytest.raises(RegistryError, match="current"):
        reg.remove(a)
    reg.remove(b)
    assert [r.id for r in reg.list()] == [a.id]


def test_a_crash_mid_write_leaves_no_visible_revision(tmp_path):
    # A process stages a revision and is SIGKILLed before commit: nothing becomes visible,
    # and the next run clears the debris.
    code = (
        "import os, sys; from pathlib import Path; from personal.adapters.registry import Registry;"
        f"r = Registry(Path({str(tmp_path)!r})); s = r.stage();"
        "(s / 'mlx').mkdir(); (s / 'mlx' / 'adapters.safetensors').write_bytes(b'x' * 10**6);"
        "print(s, flush=True); os.kill(os.getpid(), 9)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    reg = Registry(tmp_path)
    assert reg.list() == []
    assert any(reg.staging.iterdir())
    reg.stage()
    assert [p for p in reg.staging.iterdir() if str(os.getpid()) not in p.name] == []
