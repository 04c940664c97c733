"""Files under the host's root: a content-addressed blob store and per-tenant upload chunks.

    root/blobs/ab/<sha256>               every file of every revision (all formats), read-only
    root/uploads/<tenant id>/ab/<sha256> chunks a tenant has uploaded and not yet used
    root/tmp/                            work in progress (cleared at start)

Every write goes to a temporary file that is renamed into place: a blob or a chunk exists
whole or not at all, whenever the host dies. Blobs are shared between tenants (the same
bytes are stored once) but never listed to them: a tenant reaches a blob only through its
own revisions in the catalog. Chunks are kept per tenant, so asking which chunks exist
tells a tenant nothing about anyone else's uploads.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from personal.errors import PersonalError


class StoreError(PersonalError):
    pass


def _sharded(root: Path, sha: str) -> Path:
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise StoreError(f"not a SHA-256: {sha[:80]!r}")
    return root / sha[:2] / sha


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.uploads = self.root / "uploads"
        self.tmp = self.root / "tmp"
        for d in (self.blobs, self.uploads, self.tmp):
            d.mkdir(parents=True, exist_ok=True)

    def clear_tmp(self) -> None:
        """Work a killed process left behind (call at start, before serving)."""
        for p in self.tmp.iterdir():
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)

    def workdir(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.tmp))

    # --- blobs ------------------------------------------------------------------------
    def path(self, sha: str) -> Path:
        return _sharded(self.blobs, sha)

    def has(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put_file(self, src: Path) -> str:
        """Store a copy of `src`; its SHA-256 (stored once however often it is put)."""
        sha = _hash_file(src)
        target = self.path(sha)
        if not target.is_file():
            self._place(target, src.read_bytes())
        return sha

    def read(self, sha: str) -> bytes:
        try:
            return self.path(sha).read_bytes()
        except OSError:
            raise StoreError(f"blob {sha[:12]} is missing from the store",
                             hint="the host's store is damaged: restore it from a backup") from None  # fmt: skip

    def materialize(self, files: dict[str, str], dest: Path) -> Path:
        """A directory tree of `files` ({path: blob sha}) at `dest`, by hard links where
        the file system allows (for engines that read adapter directories)."""
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        for rel, sha in files.items():
            out = tmp / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(self.path(sha), out)
            except OSError:
                shutil.copyfile(self.path(sha), out)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
        return dest

    def gc(self, keep: set[str], older_than_s: float = 3600.0) -> int:
        """Delete blobs no revision references (older than `older_than_s`, so a revision
        being registered right now keeps its files). Returns how many went."""
        cutoff, gone = time.time() - older_than_s, 0
        for shard in self.blobs.iterdir():
            for blob in shard.iterdir():
                if blob.name not in keep and blob.stat().st_mtime < cutoff:
                    blob.unlink(missing_ok=True)
                    gone += 1
        return gone

    # --- chunks -----------------------------------------------------------------------
    def _tenant(self, tenant: str) -> Path:
        if not tenant.isalnum():
            raise StoreError(f"not a tenant id: {tenant[:40]!r}")
        return self.uploads / tenant

    def chunk_path(self, tenant: str, sha: str) -> Path:
        return _sharded(self._tenant(tenant), sha)

    def put_chunk(self, tenant: str, sha: str, data: bytes) -> bool:
        """Keep a chunk whose bytes hash to `sha`; False if it was there already."""
        if hashlib.sha256(data).hexdigest() != sha:
            raise StoreError("the chunk's bytes do not hash to its name")
        target = self.chunk_path(tenant, sha)
        if target.is_file():
            os.utime(target)
            return False
        self._place(target, data)
        return True

    def missing(self, tenant: str, shas: Iterable[str]) -> list[str]:
        out, seen = [], set()
        for sha in shas:
            if sha not in seen and not self.chunk_path(tenant, sha).is_file():
                out.append(sha)
            seen.add(sha)
        return out

    def join_chunks(self, tenant: str, shas: list[str], limit: int) -> bytes:
        parts, total = [], 0
        for sha in shas:
            data = self.chunk_path(tenant, sha).read_bytes()
            if hashlib.sha256(data).hexdigest() != sha:  # damaged on disk: drop it
                self.chunk_path(tenant, sha).unlink(missing_ok=True)
                raise StoreError(f"chunk {sha[:12]} was damaged on disk; upload it again")
            total += len(data)
            if total > limit:
                raise StoreError(f"the chunks add up to more than {limit} bytes")
            parts.append(data)
        return b"".join(parts)

    def drop_chunks(self, tenant: str, shas: Iterable[str]) -> None:
        for sha in shas:
            self.chunk_path(tenant, sha).unlink(missing_ok=True)

    def tenant_upload_bytes(self, tenant: str) -> int:
        d = self._tenant(tenant)
        return sum(p.stat().st_size for p in d.rglob("*") if p.is_file()) if d.exists() else 0

    def drop_tenant(self, tenant: str) -> None:
        shutil.rmtree(self._tenant(tenant), ignore_errors=True)

    def expire_chunks(self, older_than_s: float = 86400.0) -> int:
        cutoff, gone = time.time() - older_than_s, 0
        for p in self.uploads.rglob("*"):
            if p.is_file() and p.stat().st_mtime < cutoff:
                p.unlink(missing_ok=True)
                gone += 1
        return gone

    # --- writing ----------------------------------------------------------------------
    def _place(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.tmp, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)  # atomic: whole or absent
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()
