"""The sync API's request and response bodies (pydantic), shared by the client and the host.
docs/sync.md describes the protocol around them.

Everything a client sends is checked here first: ids are 64 lowercase hex digits, file
paths are the two canonical ones (never a path of the client's choosing), lists and sizes
are bounded. The host checks the rest (the manifest's content, the weights) when it
registers a revision.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

PREFIX = "/sync/v1"
CHUNK_SIZE = 256 << 10  # what the client cuts containers into by default
MAX_CHUNK = 4 << 20  # the largest chunk a host accepts
MAX_FILE = 64 << 20  # the largest canonical file (weights) a host accepts
MAX_CHUNKS = MAX_FILE // (64 << 10) + 1  # chunks one file may have (≥ 64 KiB each)
MAX_RANK = 64
CANONICAL = ("mlx/adapters.safetensors", "mlx/adapter_config.json")
WEIGHTS = CANONICAL[0]

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cut(data: bytes, size: int = CHUNK_SIZE) -> list[bytes]:
    """`data` in chunks of `size` bytes (the last may be shorter; one empty chunk for b"")."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MissingRequest(_Body):
    chunks: list[Hex64] = Field(max_length=MAX_CHUNKS * 4,
                                description="Chunk ids (SHA-256 of their bytes).")  # fmt: skip


class MissingResponse(_Body):
    missing: list[str] = Field(description="Those this tenant's upload space lacks, in order.")


class ChunkStored(_Body):
    chunk: str
    stored: bool = Field(description="False: it was there already (nothing written).")


class FileUpload(_Body):
    sha256: Hex64 = Field(description="SHA-256 of the file as rebuilt.")
    size: int = Field(ge=0, le=MAX_FILE)
    encoding: Literal["raw", "pdelta/1"] = Field(
        description="raw: the chunks are the file; pdelta/1: a delta container (docs/sync.md).")
    against: Hex64 | None = Field(None, description="pdelta/1 only: the revision (of this "
                                  "tenant) whose weights the delta is against; null: none.")  # fmt: skip
    chunks: list[Hex64] = Field(min_length=1, max_length=MAX_CHUNKS,
                                description="The chunks, in order, whose bytes make the file "
                                "or the container.")  # fmt: skip


class RevisionUpload(_Body):
    manifest: dict[str, Any] = Field(description="The revision's public manifest.")
    files: dict[Literal["mlx/adapters.safetensors", "mlx/adapter_config.json"], FileUpload]
    make_current: bool = Field(False, description="Also make it the tenant's current revision.")
    expect_current: Hex64 | None = Field(
        None, description="With make_current: the revision the client believes is current "
        "(null: none). A mismatch (a stale or replayed request) is a 409 and changes nothing.")


class PointerMove(_Body):
    revision: Hex64 | None = Field(description="The revision to make current; null: none.")
    reason: Literal["promote", "rollback", "pin", "push", "unpin"] = "rollback"
    pinned: bool | None = Field(None, description="Mirror the device's pin (null: keep).")
    expect: Hex64 | None = Field(None, description="Only move if the current revision is "
                                 "this one (omit the field: move regardless).")  # fmt: skip


class PointerState(_Body):
    revision: str | None
    pinned: bool
    moved_at: str | None = None
    reason: str | None = None


class FileInfo(_Body):
    sha256: str
    size: int | None = None


class RevisionInfo(_Body):
    id: str
    parent: str | None
    created_at: str
    registered_at: str
    size: int
    compact_of: str | None = None
    files: dict[str, FileInfo]
    probe_check: dict[str, Any] = Field(default_factory=dict)


class Registered(_Body):
    revision: RevisionInfo
    created: bool = Field(description="False: the host had it already (stored once).")
    current: PointerState


class Limits(_Body):
    chunk_size: int = CHUNK_SIZE
    max_chunk: int = MAX_CHUNK
    max_file: int = MAX_FILE
    max_rank: int = MAX_RANK


class SyncState(_Body):
    tenant: str
    base: dict[str, Any] = Field(description="The identity of the base this host serves.")
    accepts: list[str] = Field(description="Which identity relations to it are accepted "
                               "(same-file, same-weights, same-model).")  # fmt: skip
    current: PointerState
    revisions: list[RevisionInfo]
    limits: Limits = Field(default_factory=Limits)
