"""Everything under the data directory is the person's alone, whatever the umask:
directories 0700, the log, datasets, adapters and exports 0600 (revision files 0400)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from personal.learn.dataset import write_dataset
from personal.log import Log
from tests.test_registry import build


def loose(root: Path) -> list[str]:
    """Every path under root that group or others may use."""
    found = []
    for p in [root, *root.rglob("*")]:
        mode = p.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            found.append(f"{p.relative_to(root)} {oct(mode & 0o777)}")
    return found


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # a usual umask: files 0644, directories 0755
    yield
    os.umask(old)


def test_the_library_writes_private_files_with_a_loose_umask(personal_home, open_umask):
    with Log() as log:
        conv = log.create_conversation()
        log.append(conv.id, {"role": "user", "content": "my PIN is 4321"})
    write_dataset({"train": [{"messages": [], "kind": "answer", "source": []}]},
                  {"message_ids": []})  # fmt: skip
    from personal.adapters.registry import Registry

    rev = build(Registry(), b"weights")
    assert loose(personal_home) == []
    assert (personal_home / "log.db").stat().st_mode & 0o777 == 0o600
    assert (rev.path / "mlx" / "adapters.safetensors").stat().st_mode & 0o777 == 0o400


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    script = ("import os, sys; os.umask(0); from personal.cli.main import main; "
              "sys.argv[0] = 'personal'; main()")
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PERSONAL_BACKEND": "fake"},
                          stdin=subprocess.DEVNULL, cwd=cwd)  # fmt: skip


def test_the_cli_writes_private_files_even_with_umask_zero(personal_home, tmp_path):
    imported = tmp_path / "chat.jsonl"
    imported.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                                 {"role": "assistant", "content": "hello"}]}) + "\n")
    for args in (["ask", "my PIN is 4321"], ["import", str(imported)],
                 ["log", "export", "-o", str(tmp_path / "out" / "log.jsonl")]):  # fmt: skip
        result = cli(*args)
        assert result.returncode == 0, result.stderr
    assert loose(personal_home) == []
    assert (tmp_path / "out" / "log.jsonl").stat().st_mode & 0o777 == 0o600


def test_an_existing_loose_data_directory_is_tightened(personal_home, open_umask):
    personal_home.mkdir(mode=0o755, parents=True)
    os.chmod(personal_home, 0o755)
    with Log() as log:
        log.create_conversation()
    assert personal_home.stat().st_mode & 0o777 == 0o700


def test_an_export_of_read_only_revision_files_can_be_repeated(personal_home, tmp_path):
    """Revision files are read-only; exporting the same revision into the same folder
    again replaced nothing before (PermissionError on the copied read-only file)."""
    from personal.adapters.registry import Registry
    from personal.models import catalog

    rev = build(Registry(), b"weights", base=catalog.resolve(None).fingerprint)
    out = tmp_path / "export"
    for fmt in ("mlx", "gguf", "mlx"):
        result = cli("adapters", "export", rev.id[:12], str(out), "--format", fmt)
        assert result.returncode == 0, result.stderr
    assert (out / "mlx" / "adapters.safetensors").read_bytes() == b"weights"
    assert (out / "adapter.gguf").read_bytes() == b"ggufweights"
    assert json.loads((out / f"{rev.short}.manifest.json").read_text())["id"] == rev.id
    # a copy is the person's own file: writable by them (as root, a read-only copy would
    # not have failed the second export; the mode shows what a user would have hit)
    assert (out / "mlx" / "adapters.safetensors").stat().st_mode & 0o777 == 0o600
    assert loose(out) == []
