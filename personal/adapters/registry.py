"""Adapter revisions: immutable, content-addressed, with provenance and a movable pointer.

Layout under $PERSONAL_HOME/adapters/:

    revisions/<id>/manifest.json   provenance: parent, base fingerprint, dataset, config,
                                   metrics, equivalence check, gate verdict, formats, files
    revisions/<id>/...             the adapter in each format (mlx/, adapter.gguf, peft/)
    current/<base fingerprint>.json  which revision the base runs with (see `pointer`)
    staging/                       revisions being written; never visible as revisions
    forgotten.json                 revisions trained on data the person has since forgotten

A revision's id is the SHA-256 of its MLX weights file, so the same weights always get the
same id. A revision becomes visible by one atomic rename of a complete directory; the
pointer moves by one atomic file replace. A crash at any point leaves either the old state
or the new one, plus at most some debris in staging/ (cleared on the next `stage()`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from personal import paths
from personal.adapters import pointer
from personal.adapters.manifest import FileEntry, Manifest
from personal.errors import AmbiguousRevision, ManifestError, RegistryError, RevisionNotFound
from personal.fileio import (
    fsync_dir,
    fsync_tree,
    private_dir,
    sha256_file,
    write_json_atomic,
    write_text_atomic,
)

WEIGHTS = "mlx/adapters.safetensors"  # the file whose hash is the revision id


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


file_sha256 = sha256_file  # the name importers know


@dataclass(frozen=True)
class Revision:
    id: str
    path: Path
    manifest: Manifest

    @property
    def short(self) -> str:
        return self.id[:12]

    @property
    def parent(self) -> str | None:
        return self.manifest.parent

    @property
    def base_fingerprint(self) -> str:
        return self.manifest.base.fingerprint

    @property
    def promoted(self) -> bool:
        return self.manifest.promoted

    @property
    def created_at(self) -> str:
        return self.manifest.created_at

    def file(self, fmt: str) -> Path:
        """The path of one export format ("gguf", "peft", "mlx")."""
        rel = self.manifest.formats.get(fmt)
        if rel is None:
            raise RegistryError(f"revision {self.short} has no {fmt!r} export")
        return self.path / rel


class Registry:
    def __init__(self, root: Path | None = None):
        self.root = root or paths.sub("adapters")
        self.revisions = self.root / "revisions"
        self.pointers = self.root / "current"
        self.staging = self.root / "staging"
        for d in (self.revisions, self.pointers, self.staging):
            private_dir(d)

    # --- writing ----------------------------------------------------------------------
    def stage(self) -> Path:
        """A fresh private directory to build a revision in (debris of crashed runs that
        are no longer alive is cleared)."""
        for old in self.staging.iterdir():
            pid = old.name.split("-")[0]
            if not pid.isdigit() or not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(dir=self.staging, prefix=f"{os.getpid()}-"))

    def commit(self, staged: Path, manifest: Manifest) -> Revision:
        """Seal a staged directory as a revision: hash, record files, rename into place."""
        weights = staged / WEIGHTS
        if not weights.is_file():
            raise RegistryError(f"a revision needs its MLX weights at {WEIGHTS}")
        rev_id = file_sha256(weights)
        target = self.revisions / rev_id
        if target.exists():  # same weights: the revision already exists, immutable
            shutil.rmtree(staged, ignore_errors=True)
            return self.get(rev_id)
        files = {
            str(p.relative_to(staged)): FileEntry(file_sha256(p), p.stat().st_size)
            for p in sorted(staged.rglob("*"))
            if p.is_file()
        }
        manifest = manifest.with_(id=rev_id, files=files, created_at=manifest.created_at or _now())
        write_text_atomic(staged / "manifest.json", manifest.to_json())
        for p in [staged, *staged.rglob("*")]:  # read-only, and the person's alone
            p.chmod(0o700 if p.is_dir() else 0o400)
        fsync_tree(staged)  # durable before the rename makes it visible
        os.rename(staged, target)  # atomic: the revision appears complete or not at all
        fsync_dir(self.revisions)
        return Revision(rev_id, target, manifest)

    def annotate(self, rev: Revision, **sections: Any) -> Revision:
        """Add measurements made after a revision was sealed (its probe distributions, its
        privacy audit) to its manifest, atomically. The weights, the id and the files
        stay as they are: only these sections may change."""
        allowed = {"probes", "audit"}
        if not set(sections) <= allowed:
            raise RegistryError(f"a sealed revision's {sorted(set(sections) - allowed)} "
                                "cannot change")  # fmt: skip
        manifest = rev.manifest.with_(**sections)
        path = rev.path / "manifest.json"
        write_text_atomic(path, manifest.to_json())
        path.chmod(0o444)
        return Revision(rev.id, rev.path, manifest)

    # --- reading ----------------------------------------------------------------------
    def list(self, base_fingerprint: str | None = None) -> list[Revision]:
        """Readable revisions, newest first (a damaged one is left out: see `damaged`)."""
        revs = []
        for d in self.revisions.iterdir():
            manifest = d / "manifest.json"
            if not manifest.is_file():
                continue
            try:
                rev = Revision(d.name, d, Manifest.read(manifest))
            except ManifestError:
                continue
            if base_fingerprint is None or rev.base_fingerprint == base_fingerprint:
                revs.append(rev)
        return sorted(revs, key=lambda r: r.created_at, reverse=True)

    def damaged(self) -> dict[str, str]:
        """{revision id: what is wrong} for revisions whose manifest cannot be read."""
        found = {}
        for d in sorted(self.revisions.iterdir()):
            try:
                Manifest.read(d / "manifest.json")
            except ManifestError as e:
                found[d.name] = e.message
        return found

    def remove_damaged(self, ref: str) -> str:
        """Delete a revision whose manifest cannot be read, by id or unique prefix."""
        matches = [i for i in self.damaged() if i.startswith(ref)] if len(ref) >= 4 else []
        if len(matches) != 1:
            raise RevisionNotFound(f"no damaged revision matches {ref!r}",
                                   hint="see them with: personal adapters list")  # fmt: skip
        for state in (p for p in self.pointers.glob("*.json")):
            if pointer.read(state)["revision"] == matches[0]:
                raise RegistryError(f"revision {matches[0][:12]} is current",
                                    hint="roll back to another revision first")  # fmt: skip
        self._delete(self.revisions / matches[0])
        return matches[0]

    def get(self, ref: str, base_fingerprint: str | None = None) -> Revision:
        """A revision by id or unique prefix (>= 4 chars), or "current" for `base`."""
        if ref == "current":
            if base_fingerprint is None:
                raise RegistryError("'current' needs a base model")
            rev = self.current(base_fingerprint)
            if rev is None:
                raise RevisionNotFound("no revision is current for this base model",
                                       hint="train one: personal train")  # fmt: skip
            return rev
        matches = [r for r in self.list(base_fingerprint) if r.id.startswith(ref)]
        if len(ref) < 4 or not matches:
            raise RevisionNotFound(
                f"no adapter revision matches {ref!r}",
                hint="see the revisions with: personal adapters list",
            )
        if len(matches) > 1:
            raise AmbiguousRevision(f"{ref!r} matches {len(matches)} revisions",
                                    hint="give more characters of the id")  # fmt: skip
        return matches[0]

    def verify(self, rev: Revision) -> list[str]:
        """Every file that is missing or no longer matches its recorded hash."""
        problems = []
        for rel, entry in rev.manifest.files.items():
            p = rev.path / rel
            if not p.is_file():
                problems.append(f"{rel}: missing")
            elif file_sha256(p) != entry.sha256:
                problems.append(f"{rel}: contents changed (hash mismatch)")
        return problems

    # --- the current pointer ----------------------------------------------------------
    def _pointer(self, base_fingerprint: str) -> Path:
        return self.pointers / f"{base_fingerprint}.json"

    def pointer(self, base_fingerprint: str) -> dict[str, Any]:
        """{"revision": current id or None, "stack": promoted ids, oldest first (the
        current one last), "pinned": bool, "history": every move with time and reason}.
        PointerError (with a repair hint) when the file is damaged."""
        return pointer.read(self._pointer(base_fingerprint))

    def current(self, base_fingerprint: str) -> Revision | None:
        rev_id = self.pointer(base_fingerprint)["revision"]
        if rev_id is None:
            return None
        d = self.revisions / rev_id
        if not (d / "manifest.json").is_file():
            raise RegistryError(f"the current revision {rev_id[:12]} is missing from disk",
                                hint="personal adapters rollback")  # fmt: skip
        return Revision(rev_id, d, Manifest.read(d / "manifest.json"))

    def set_current(self, base_fingerprint: str, rev: Revision | None, reason: str) -> None:
        """Make `rev` current (None: no adapter), atomically, remembering the move."""
        if rev is not None and rev.base_fingerprint != base_fingerprint:
            raise RegistryError(f"revision {rev.short} was trained on another base model")

        def move(state: dict[str, Any]) -> str:
            _move(state, rev)
            return reason

        pointer.update(self._pointer(base_fingerprint), move)

    def promote(self, base_fingerprint: str, rev: Revision) -> bool:
        """Make `rev` current unless the pointer is pinned — checked under the pointer's
        lock, so a pin set while a run trained holds. Returns whether it moved."""
        if rev.base_fingerprint != base_fingerprint:
            raise RegistryError(f"revision {rev.short} was trained on another base model")

        def move(state: dict[str, Any]) -> str | None:
            if state.get("pinned"):
                return None
            _move(state, rev)
            return "promote"

        return pointer.update(self._pointer(base_fingerprint), move)["revision"] == rev.id

    def rollback(self, base_fingerprint: str, to: Revision | None = None) -> Revision | None:
        """Make `to` current, or the revision promoted before the current one (None when
        there is none: the base runs without an adapter)."""
        if to is not None and to.base_fingerprint != base_fingerprint:
            raise RegistryError(f"revision {to.short} was trained on another base model")
        chosen: list[Revision | None] = [to]

        def move(state: dict[str, Any]) -> str:
            if to is None:
                stack = state["stack"]
                chosen[0] = self.get(stack[-2]) if len(stack) >= 2 else None
            _move(state, chosen[0])
            return "rollback"

        pointer.update(self._pointer(base_fingerprint), move)
        return chosen[0]

    def set_pinned(self, base_fingerprint: str, pinned: bool) -> None:
        def pin(state: dict[str, Any]) -> str:
            state["pinned"] = pinned
            return "pin" if pinned else "unpin"

        pointer.update(self._pointer(base_fingerprint), pin)

    def repair_pointer(self, base_fingerprint: str) -> tuple[Revision | None, str]:
        """Rebuild a damaged pointer from its history; (the current revision, what was
        done in words)."""
        def exists(rev_id: str) -> bool:
            return (self.revisions / rev_id / "manifest.json").is_file()

        state, done = pointer.repair(self._pointer(base_fingerprint), exists)
        return (self.get(state["revision"]) if state["revision"] else None), done

    # --- revisions trained on forgotten data -------------------------------------------
    def _marks_file(self) -> Path:
        return self.root / "forgotten.json"

    def forgotten(self) -> dict[str, dict[str, str]]:
        """{revision id: {"at", "reason"}} of revisions trained (or warm-started from one
        trained) on messages the person has since forgotten."""
        try:
            data = json.loads(self._marks_file().read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise ManifestError(f"{self._marks_file()} is damaged",
                                hint="delete it; `personal log forget` marks the revisions "
                                "again the next time it runs") from None  # fmt: skip
        marks = data.get("revisions") if isinstance(data, dict) else None
        return marks if isinstance(marks, dict) else {}

    def mark_forgotten(self, rev_ids: list[str], reason: str) -> list[str]:
        """Mark these revisions and every revision descended from them; returns the ids
        newly marked. A mark never changes the revision itself (it is immutable)."""
        with pointer.locked(self._marks_file()):
            marks = self.forgotten()
            tainted = set(rev_ids) | set(marks)
            revs = self.list()
            grew = True
            while grew:  # children warm-started from a marked parent carry its data too
                children = {r.id for r in revs if r.parent in tainted} - tainted
                grew = bool(children)
                tainted |= children
            new = sorted(tainted - set(marks))
            for rev_id in new:
                marks[rev_id] = {"at": _now(), "reason": reason}
            if new:
                write_json_atomic(self._marks_file(), {"revisions": marks})
            return new

    def remove(self, rev: Revision) -> None:
        if self.pointer(rev.base_fingerprint)["revision"] == rev.id:
            raise RegistryError(f"revision {rev.short} is current",
                                hint="roll back to another revision first")  # fmt: skip
        self._delete(rev.path)

    def _delete(self, path: Path) -> None:
        trash = self.staging / f"rm-{path.name}"
        os.rename(path, trash)  # vanish atomically, then delete
        for p in trash.rglob("*"):
            p.chmod(0o700 if p.is_dir() else 0o600)
        shutil.rmtree(trash, ignore_errors=True)


def _move(state: dict[str, Any], rev: Revision | None) -> None:
    stack = state["stack"]
    if rev is None:
        stack.clear()
    elif rev.id in stack:  # going back to an earlier revision drops the later ones
        del stack[stack.index(rev.id) + 1 :]
    else:
        stack.append(rev.id)
    state["revision"] = rev.id if rev else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
