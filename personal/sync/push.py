"""Pushing revisions to the host: which, against what, and how (docs/sync.md).

    out = prepare(registry, rev, state, make_current=True)   # nothing sent yet
    audit(out.leaving())                                      # the layers above check it
    registered = send(client, out)

`prepare` builds everything that will leave the device — the exact request body (the public
manifest and the file list) and the chunks of each canonical file's container — so the
privacy check runs on the real bytes before one of them is sent. `send` asks the host which
chunks it lacks, sends those, then registers: a push interrupted anywhere (client or host
killed, connection cut) resumes by doing the same again, sending only what is missing;
a revision the host has is never sent twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from personal.adapters.registry import Registry, Revision
from personal.errors import PersonalError
from personal.sync import delta, wire
from personal.sync.client import HostClient, HostRefused

Progress = Callable[[int, int], None]  # (bytes sent, bytes to send)


class NothingToPush(PersonalError):
    pass


@dataclass
class Outgoing:
    revision: Revision
    upload: wire.RevisionUpload
    body: bytes  # the registration request, byte for byte
    files: dict[str, bytes]  # the canonical files the containers rebuild
    chunks: dict[str, bytes] = field(default_factory=dict)  # sha → bytes
    against: str | None = None  # the host's revision the weights are a delta against
    present: bool = False  # the host has it: only the registration (a pointer move) is sent

    def leaving(self) -> list[bytes]:
        """Everything that leaves the device for this revision, readable: the request body
        and the files (the chunks are these files, compressed)."""
        return [self.body, *self.files.values()]

    @property
    def wire_bytes(self) -> int:
        return len(self.body) + sum(len(c) for c in self.chunks.values())


def plan(registry: Registry, base_fingerprint: str, have: set[str],
         refs: list[str] | None = None) -> list[Revision]:  # fmt: skip
    """The revisions to push, parents first: `refs` (default: the current revision) and
    every ancestor of theirs the host lacks."""
    if refs:
        wanted = [registry.get(ref, base_fingerprint) for ref in refs]
    else:
        current = registry.current(base_fingerprint)
        if current is None:
            raise NothingToPush("no revision is current on this device",
                                hint="train one (personal train) or name one: "
                                "personal sync push REV")  # fmt: skip
        wanted = [current]
    out: list[Revision] = []
    for rev in wanted:
        chain, cursor = [], rev
        while cursor is not None and cursor.id not in have and cursor.id not in {r.id for r in out}:
            chain.append(cursor)
            parent = cursor.parent
            cursor = registry.get(parent) if parent and _local(registry, parent) else None
        out += reversed(chain)
    return out


def _local(registry: Registry, rev_id: str) -> bool:
    return (registry.revisions / rev_id / "manifest.json").is_file()


def choose_base(registry: Registry, rev: Revision, have: list[str]) -> Revision | None:
    """What to send the weights as a delta against: the parent if the host has it, else
    the newest revision the host has (and this device too) with the same tensor layout."""
    candidates = ([rev.parent] if rev.parent in have else []) + [h for h in have if h != rev.parent]
    for rev_id in candidates:
        if rev_id == rev.id or not _local(registry, rev_id):
            continue
        other = registry.get(rev_id)
        if _layout(other) == _layout(rev):
            return other
    return None


def _layout(rev: Revision) -> list[tuple[str, str, tuple[int, ...]]]:
    data = (rev.path / wire.WEIGHTS).read_bytes()
    return [(t.name, t.dtype, t.shape) for t in delta.tensors(data)[1]]


def prepare(registry: Registry, rev: Revision, state: wire.SyncState, *,
            make_current: bool = False, chunk_size: int | None = None,
            against: Revision | None | bool = True,
            container: bytes | None = None) -> Outgoing:  # fmt: skip
    """Everything that will leave for `rev` (see the module docstring). `against`: True
    picks a base (`choose_base`), None sends it whole; `container`: a prepared one (a
    compact revision's)."""
    size = chunk_size or int(os.environ.get("PERSONAL_SYNC_CHUNK", 0)) or state.limits.chunk_size
    size = max(1024, min(size, state.limits.max_chunk))  # PERSONAL_SYNC_CHUNK: slow links
    have = [r.id for r in state.revisions]
    base = choose_base(registry, rev, have) if against is True else against or None
    files = {rel: (rev.path / rel).read_bytes() for rel in wire.CANONICAL}
    uploads, chunks = {}, {}
    for rel, data in files.items():
        if rel == wire.WEIGHTS:
            parent = (base.path / rel).read_bytes() if base is not None else None
            body = container if container is not None else delta.encode(data, parent)
            encoding = "pdelta/1"
        else:
            body, encoding = data, "raw"
        pieces = wire.cut(body, size)
        ids = [wire.sha256(p) for p in pieces]
        chunks.update(zip(ids, pieces, strict=True))
        uploads[rel] = wire.FileUpload(sha256=wire.sha256(data), size=len(data), encoding=encoding,
                                       against=base.id if (base and encoding != "raw") else None,
                                       chunks=ids)  # fmt: skip
    fields = {"manifest": rev.manifest.public(), "files": uploads, "make_current": make_current}
    if make_current:
        fields["expect_current"] = state.current.revision
    upload = wire.RevisionUpload(**fields)
    body = json.dumps(upload.model_dump(mode="json", exclude_unset=True), ensure_ascii=False,
                      separators=(",", ":")).encode()  # fmt: skip
    return Outgoing(rev, upload, body, files, chunks, base.id if base else None, rev.id in have)


def send(client: HostClient, out: Outgoing, progress: Progress | None = None) -> wire.Registered:
    """Upload the chunks the host lacks, then register; resumes whatever was cut off."""
    if out.present:  # stored once: nothing to upload
        return client.register_raw(out.body)
    for attempt in range(2):
        missing = client.missing(list(out.chunks))
        total, done = sum(len(out.chunks[s]) for s in missing), 0
        for sha in missing:
            client.put_chunk(sha, out.chunks[sha])
            done += len(out.chunks[sha])
            if progress:
                progress(done, total)
        try:
            return client.register_raw(out.body)
        except HostRefused as e:  # chunks expired on the host meanwhile: send them again
            if e.code != "chunks_missing" or attempt:
                raise
    raise AssertionError("unreachable")

