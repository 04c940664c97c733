"""The sync API (`/sync/v1/...`, docs/sync.md), scoped to the token's tenant.

    GET  /sync/v1/state                          the tenant's revisions, pointer, host limits
    POST /sync/v1/chunks/missing                 which of these chunks the host lacks
    PUT  /sync/v1/chunks/{sha256}                one chunk (raw bytes; stored once)
    POST /sync/v1/revisions                      register a revision from uploaded chunks
    GET  /sync/v1/revisions/{rev}                one revision (manifest, files, probe check)
    GET  /sync/v1/revisions/{rev}/files/{path}   a canonical file's bytes (for `sync pull`)
    PUT  /sync/v1/pointer                        move the current pointer (rollback, pin)

A revision of another tenant is the same 404 as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from personal.api.errors import APIError
from personal.api.schema import ErrorResponse
from personal.host.catalog import AmbiguousRef, PointerConflict, RevisionUnknown, Tenant
from personal.host.intake import receive
from personal.host.store import StoreError
from personal.sync import wire

if TYPE_CHECKING:
    from personal.host.runtime import HostRuntime

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": what} for code, what in (
        (400, "Invalid request"), (401, "Missing or wrong token"),
        (404, "No such revision (of this tenant)"), (409, "Conflict: missing chunks or parent, "
        "or the pointer moved"), (413, "Too large"), (422, "Refused: see the message"),
        (503, "Busy: retry"))
}  # fmt: skip
REV = Path(pattern=r"^[0-9a-f]{4,64}$", description="Revision id or unique prefix")
SHA = Path(pattern=r"^[0-9a-f]{64}$", description="The chunk's SHA-256")


def not_found(what: str) -> APIError:
    return APIError(f"no revision {what[:12]} here", status=404, type="not_found_error",
                    code="revision_not_found")  # fmt: skip


def router(runtime: HostRuntime, tenant_of: Callable[..., Tenant]) -> APIRouter:
    r = APIRouter(prefix=wire.PREFIX, tags=["sync"], responses=ERRORS)
    who = Depends(tenant_of)

    def record_of(tenant: Tenant, rev: str):
        try:
            record = runtime.catalog.revision(tenant.id, rev)
        except AmbiguousRef as e:
            raise APIError(e.message, code="ambiguous_revision") from None
        if record is None:
            raise not_found(rev)
        return record

    @r.get("/state", response_model=wire.SyncState)
    def state(tenant: Tenant = who) -> wire.SyncState:
        """The tenant's revisions (newest first), its pointer, and what this host takes."""
        from dataclasses import asdict

        return wire.SyncState(
            tenant=tenant.name, base=asdict(runtime.base.identity),
            accepts=list(runtime.base.accepts), current=runtime.pointer_state(tenant.id),
            revisions=[runtime.revision_info(rec) for rec in runtime.catalog.revisions(tenant.id)],
        )  # fmt: skip

    @r.post("/chunks/missing", response_model=wire.MissingResponse)
    def missing(body: wire.MissingRequest, tenant: Tenant = who) -> wire.MissingResponse:
        """The chunks (of this list) this tenant has not uploaded yet."""
        return wire.MissingResponse(missing=runtime.store.missing(tenant.id, body.chunks))

    @r.put("/chunks/{sha256}", response_model=wire.ChunkStored, status_code=201,
           openapi_extra={"requestBody": {"required": True, "content": {
               "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})  # fmt: skip
    async def put_chunk(request: Request, sha256: str = SHA, tenant: Tenant = who) -> Any:
        """One chunk: its bytes must hash to its name (else 400, send it again)."""
        data = bytearray()
        async for part in request.stream():
            data += part
            if len(data) > wire.MAX_CHUNK:
                raise APIError(f"a chunk is at most {wire.MAX_CHUNK >> 20} MiB", status=413,
                               code="chunk_too_large")  # fmt: skip
        try:
            stored = await run_in_threadpool(runtime.store.put_chunk, tenant.id, sha256,
                                             bytes(data))  # fmt: skip
        except StoreError as e:
            raise APIError(f"{e.message}: it was damaged on the way; send it again",
                           code="chunk_hash_mismatch") from None  # fmt: skip
        runtime.metrics.chunk_bytes.inc(len(data))
        body = wire.ChunkStored(chunk=sha256, stored=stored).model_dump()
        return JSONResponse(body, status_code=201 if stored else 200)

    @r.post("/revisions", response_model=wire.Registered, status_code=201)
    async def register(body: wire.RevisionUpload, tenant: Tenant = who) -> Any:
        """Register a revision from its uploaded chunks (201; 200 when the host had it)."""
        done = await run_in_threadpool(receive, runtime, tenant, body)
        return JSONResponse(done.model_dump(), status_code=201 if done.created else 200)

    @r.get("/revisions/{rev}")
    def revision(rev: str = REV, tenant: Tenant = who) -> dict[str, Any]:
        """One of the tenant's revisions: its public manifest, files and probe check."""
        record = record_of(tenant, rev)
        return {**runtime.revision_info(record).model_dump(), "manifest": record.manifest}

    @r.get("/revisions/{rev}/files/{path:path}", response_class=Response,
           responses={200: {"content": {"application/octet-stream": {}}}})  # fmt: skip
    def file(rev: str = REV, path: str = Path(description="mlx/adapters.safetensors or "
                                               "mlx/adapter_config.json"),
             tenant: Tenant = who) -> Response:  # fmt: skip
        """A canonical file of the revision, as the device made it."""
        record = record_of(tenant, rev)
        if path not in wire.CANONICAL:
            raise APIError(f"only {', '.join(wire.CANONICAL)} can be fetched", status=404,
                           type="not_found_error", code="file_not_found")  # fmt: skip
        return Response(runtime.store.read(record.files[path]),
                        media_type="application/octet-stream")  # fmt: skip

    @r.put("/pointer", response_model=wire.PointerState)
    def pointer(body: wire.PointerMove, tenant: Tenant = who) -> wire.PointerState:
        """Move the tenant's current pointer (the device rolled back or pinned)."""
        from personal.host.catalog import UNSET

        expect = body.expect if "expect" in body.model_fields_set else UNSET
        try:
            runtime.catalog.move_pointer(tenant.id, body.revision, body.reason,
                                         pinned=body.pinned, expect=expect)  # fmt: skip
        except RevisionUnknown:
            raise not_found(body.revision or "") from None
        except PointerConflict as e:
            raise APIError(e.message, status=409, code="pointer_conflict") from None
        runtime.pin_if_hot(tenant)
        return runtime.pointer_state(tenant.id)

    return r
