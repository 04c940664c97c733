"""The registry under concurrent writers and damaged files.

Pointer and pin updates were read-modify-write without a lock (a promotion and a pin at
once lost one of them), the pin was read before training and not re-checked, a damaged
pointer or manifest was a traceback, and revision files were not fsynced before the
rename that publishes them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from personal.adapters.pointer import PointerError
from personal.adapters.registry import Registry
from personal.models import catalog
from tests.test_registry import BASE, build

WRITER = """
import sys
from personal.adapters.registry import Registry
reg, base, what = Registry(), sys.argv[1], sys.argv[2]
revs = [reg.get(r) for r in sys.argv[3:]]
for i in range(40):
    if what == "pin":
        reg.set_pinned(base, i % 2 == 0)
    else:
        reg.set_current(base, revs[i % len(revs)], "promote")
"""


def test_concurrent_pointer_updates_lose_nothing(personal_home):
    reg = Registry()
    a, b = build(reg, b"a"), build(reg, b"b")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, BASE, what, a.id, b.id])
             for what in ("pin", "move")]  # fmt: skip
    for p in procs:
        assert p.wait(timeout=120) == 0
    history = reg.pointer(BASE)["history"]
    assert len(history) == 80  # every move and every pin recorded: none overwritten
    journal = (reg.pointers / f"{BASE}.history.jsonl").read_text().splitlines()
    assert len(journal) == 80


def test_the_pin_is_rechecked_when_promoting(tmp_path):
    reg = Registry(tmp_path)
    a, b = build(reg, b"a"), build(reg, b"b")
    assert reg.promote(BASE, a)
    reg.set_pinned(BASE, True)  # e.g. while `b` trained
    assert not reg.promote(BASE, b)
    assert reg.current(BASE).id == a.id


@pytest.mark.parametrize("garbage", ["{half", "[]", '{"revision": 5, "stack": []}',
                                     '{"revision": null, "stack": "x"}'])  # fmt: skip
def test_a_damaged_pointer_is_a_typed_error_and_rollback_repairs_it(tmp_path, garbage):
    reg = Registry(tmp_path)
    a, b = build(reg, b"a"), build(reg, b"b")
    reg.set_current(BASE, a, "promote")
    reg.set_current(BASE, b, "promote")
    (reg.pointers / f"{BASE}.json").write_text(garbage)
    with pytest.raises(PointerError) as raised:
        reg.current(BASE)
    assert "personal adapters rollback" in raised.value.hint
    current, done = reg.repair_pointer(BASE)
    assert current.id == b.id and "history" in done
    assert reg.pointer(BASE)["stack"] == [a.id, b.id]
    assert reg.rollback(BASE).id == a.id  # and rollback works on from there


def cli(*args: str):
    return subprocess.run([sys.executable, "-m", "personal.cli.main", "adapters", *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_the_cli_reports_and_repairs_a_damaged_pointer(personal_home):
    base = catalog.resolve(None).fingerprint
    reg = Registry()
    a = build(reg, b"a", base=base)
    reg.set_current(base, a, "promote")
    (reg.pointers / f"{base}.json").write_text("\x00garbage")
    listing = cli("list")
    assert listing.returncode == 1 and "Traceback" not in listing.stderr
    assert "damaged" in listing.stderr and "personal adapters rollback" in listing.stderr
    repaired = cli("rollback")
    assert repaired.returncode == 0, repaired.stderr
    said = " ".join(repaired.stdout.split())  # Rich wraps long lines
    assert "restored from its history" in said and f"current: {a.id[:12]}" in said
    assert cli("list").returncode == 0


def test_a_damaged_manifest_is_listed_and_removable(personal_home):
    base = catalog.resolve(None).fingerprint
    reg = Registry()
    good, bad = build(reg, b"good", base=base), build(reg, b"bad", base=base)
    manifest = bad.path / "manifest.json"
    os.chmod(manifest, 0o600)
    manifest.write_text('{"base": {"name": 1}, "files": "x"')
    assert [r.id for r in reg.list()] == [good.id]
    listing = cli("list")
    assert listing.returncode == 0 and f"damaged {bad.id[:12]}" in " ".join(listing.stdout.split())
    assert cli("rm", bad.id[:12]).returncode == 0
    assert reg.damaged() == {}


def test_revision_files_and_directories_are_fsynced_before_the_rename(tmp_path, monkeypatch):
    reg = Registry(tmp_path)
    synced: list[str] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def rename(src, dst) -> None:
        staged = str(src)
        if staged.startswith(str(reg.staging)):
            inside = [str(p) for p in [src, *__import__("pathlib").Path(src).rglob("*")]]
            missing = [p for p in inside if p not in synced]
            assert missing == [], f"not fsynced before the rename: {missing}"
        real_rename(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    rev = build(reg, b"durable")
    assert str(reg.revisions) in synced  # and the directory that now names it
    assert json.loads((rev.path / "manifest.json").read_text())["id"] == rev.id
