"""File habits used everywhere: hash a file, replace a file atomically, keep it private.

What personal writes is the person's most private data, so files are created owner-only
(0600, directories 0700) whatever the umask: `private_dir`, `write_private_bytes` and
the atomic writers here do it explicitly, and the entry points (CLI, training worker) set
the process umask to 077 with `private_umask` for what third-party writers create.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

FILE_MODE, DIR_MODE = 0o600, 0o700


def private_umask() -> None:
    """From now on this process creates files 0600 and directories 0700."""
    os.umask(0o077)


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) owner-only; tighten it if it is looser."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path, DIR_MODE)
    return path


def tighten(path: Path, mode: int) -> None:
    """Take group and other permissions off `path` (owned by us), if it has any."""
    try:
        current = path.stat().st_mode & 0o777
        if current & 0o077:
            path.chmod(current & ~0o077 or mode)
    except (FileNotFoundError, PermissionError):
        pass  # gone, or not ours to change


def make_private(root: Path) -> None:
    """Tighten a tree that another library wrote (mlx, gguf), files and directories."""
    for p in [Path(root), *Path(root).rglob("*")]:
        if not p.is_symlink():
            tighten(p, DIR_MODE if p.is_dir() else FILE_MODE)


def write_private_bytes(path: Path, data: bytes) -> None:
    """Write `path` (created or truncated) owner-only, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), FILE_MODE)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename into it, a new file) durable."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory under `root` (deepest first), before a rename
    publishes it: after a crash, a published tree is whole, not zero-length files."""
    root = Path(root)
    for p in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if p.is_symlink():
            continue
        if p.is_dir():
            fsync_dir(p)
        else:
            with p.open("rb") as f:
                os.fsync(f.fileno())
    fsync_dir(root)


def write_json_atomic(path: Path, data: Any) -> None:
    """Readers see the old file or the new one, never a half-written one (even on a crash)."""
    write_text_atomic(path, json.dumps(data, indent=2))


def write_text_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically (see `write_json_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, owner-only (0600), even if the old file was
    read-only: readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp: already 0600
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
