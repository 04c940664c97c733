"""A revision arrives: rebuild it from its chunks, check everything, register it at once.

    registered = receive(runtime, tenant, upload)   # APIError (4xx) with the reason otherwise

In order, each step refusing with a clear 4xx before anything is registered:
 1. the manifest parses, names a 64-hex id, and its canonical files' hashes are the
    upload's; the id is the hash of the weights (a revision id names its weights);
 2. its base relates to the host's as the host accepts (same file/weights/model);
 3. its parent, if any, is one of the tenant's revisions; a compact revision carries the
    device's held-out-loss check, within 1%;
 4. every chunk is in the tenant's upload space; the files are rebuilt (whole, or from a
    delta against one of the tenant's revisions) and match their sizes and hashes;
 5. the adapter is one: safetensors, LoRA tensors that fit the host's base, rank ≤ the
    limit, every value finite, a sane configuration;
 6. the host derives the other formats with the project's exporter and they hash as the
    manifest says (the device's exporter made the same bytes);
 7. the host's engine with the adapter agrees with the device's probe distributions.
Then its files go into the blob store and one catalog transaction registers it (and moves
the pointer if asked, compare-and-set). A host killed anywhere before that transaction
leaves no revision, only unreferenced blobs (collected later) and the chunks (kept, so the
push resumes).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from personal.adapters.formats import export_all, load_adapter
from personal.adapters.manifest import Manifest
from personal.api.errors import APIError
from personal.errors import AdapterFormatError, ManifestError, NonFiniteWeights
from personal.host.catalog import UNSET, PointerConflict, RevisionRecord, Tenant
from personal.host.store import StoreError
from personal.sync import wire
from personal.sync.delta import DeltaError, decode, read_header

if TYPE_CHECKING:
    from personal.host.runtime import HostRuntime

MAX_MANIFEST = 1 << 20  # bytes of manifest JSON
COMPACT_TOLERANCE = 1.01  # a compact revision's held-out loss may be 1% above the exact one's
HEX = set("0123456789abcdef")


def refuse(status: int, code: str, message: str) -> APIError:
    return APIError(message, status=status, code=code,
                    type="invalid_request_error" if status < 500 else "server_error")  # fmt: skip


def receive(rt: HostRuntime, tenant: Tenant, upload: wire.RevisionUpload) -> wire.Registered:
    try:
        registered = _receive(rt, tenant, upload)
    except APIError as e:
        rt.metrics.uploads.labels(e.code or str(e.status)).inc()
        raise
    rt.metrics.uploads.labels("registered" if registered.created else "present").inc()
    return registered


def _receive(rt: HostRuntime, tenant: Tenant, upload: wire.RevisionUpload) -> wire.Registered:
    manifest = _manifest(upload)
    refusal = rt.base.refusal(manifest.base)
    if refusal:
        raise refuse(422, "base_mismatch", f"base of another identity: {refusal}")
    expect = upload.expect_current if "expect_current" in upload.model_fields_set else UNSET
    with rt.tenant_lock(tenant.id):
        record = rt.catalog.revision(tenant.id, manifest.id)  # stored once: not rebuilt
        if record is None:
            record = _rebuild_and_check(rt, tenant, upload, manifest)
        try:
            stored, created = rt.catalog.register(record, move=upload.make_current,
                                                  expect=expect)  # fmt: skip
        except PointerConflict as e:
            raise refuse(409, "pointer_conflict", e.message) from None
        rt.store.drop_chunks(tenant.id, [c for f in upload.files.values() for c in f.chunks])
    if upload.make_current:
        rt.pin_if_hot(tenant)
    return wire.Registered(revision=rt.revision_info(stored), created=created,
                           current=rt.pointer_state(tenant.id))  # fmt: skip


def _manifest(upload: wire.RevisionUpload) -> Manifest:
    if len(json.dumps(upload.manifest)) > MAX_MANIFEST:
        raise refuse(413, "manifest_too_large", f"the manifest is over {MAX_MANIFEST >> 10} KiB")
    try:
        manifest = Manifest.from_dict(upload.manifest, where="the manifest")
    except ManifestError as e:
        raise refuse(422, "manifest_invalid", e.message) from None
    for what, value in (("id", manifest.id), ("parent", manifest.parent or "0" * 64)):
        if len(value) != 64 or not set(value) <= HEX:
            raise refuse(422, "manifest_invalid", f"the manifest's {what} is not a revision "
                         "id (64 lowercase hex digits)")  # fmt: skip
    for rel, sent in upload.files.items():
        listed = manifest.files.get(rel)
        if listed is None or listed.sha256 != sent.sha256 or (listed.size not in (None, sent.size)):
            raise refuse(422, "hash_mismatch", f"{rel}: the manifest lists "
                         f"{(listed.sha256[:12] if listed else 'nothing')}, the upload sends "
                         f"{sent.sha256[:12]} ({sent.size} bytes)")  # fmt: skip
    if set(upload.files) != set(wire.CANONICAL):
        raise refuse(422, "files_missing", f"a revision travels as {', '.join(wire.CANONICAL)}")
    if manifest.files[wire.WEIGHTS].sha256 != manifest.id:
        raise refuse(422, "id_mismatch", f"the revision id {manifest.id[:12]} is not the "
                     f"SHA-256 of its weights ({manifest.files[wire.WEIGHTS].sha256[:12]})")  # fmt: skip
    c = manifest.compact
    if c is not None and not (np.isfinite([c.loss_exact, c.loss_compact]).all()
                              and c.loss_compact <= COMPACT_TOLERANCE * c.loss_exact):  # fmt: skip
        raise refuse(422, "compact_unchecked", "a compact revision must carry the device's "
                     "check that its held-out loss is within 1% of the exact revision's")  # fmt: skip
    return manifest


def _rebuild_and_check(rt: HostRuntime, tenant: Tenant, upload: wire.RevisionUpload,
                       manifest: Manifest) -> RevisionRecord:  # fmt: skip
    if manifest.parent and rt.catalog.revision(tenant.id, manifest.parent) is None:
        raise refuse(409, "parent_missing", f"the parent revision {manifest.parent[:12]} is not "
                     "here: push it first (personal sync push pushes missing ancestors)")  # fmt: skip
    wanted = [c for f in upload.files.values() for c in f.chunks]
    missing = rt.store.missing(tenant.id, wanted)
    if missing:
        raise refuse(409, "chunks_missing", f"{len(missing)} of {len(set(wanted))} chunks are "
                     "not uploaded yet (POST /sync/v1/chunks/missing, then PUT each)")  # fmt: skip
    work = rt.store.workdir()
    try:
        for rel, sent in upload.files.items():
            data = _rebuild(rt, tenant, rel, sent, manifest)
            (work / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / "in" / rel).write_bytes(data)
        _check_adapter(rt, work / "in" / "mlx")
        formats = export_all(work / "in" / "mlx", rt.base.model, work / "out", stamp=manifest.base)
        files = {}
        for path in sorted(p for p in (work / "out").rglob("*") if p.is_file()):
            rel = str(path.relative_to(work / "out"))
            files[rel] = rt.store.put_file(path)
            listed = manifest.files.get(rel)
            if listed is not None and listed.sha256 != files[rel]:
                raise refuse(422, "derived_mismatch", f"{rel} derived here hashes "
                             f"{files[rel][:12]}, the manifest says {listed.sha256[:12]} "
                             "(another exporter version, or a manifest that lies)")  # fmt: skip
        record = RevisionRecord(
            tenant=tenant.id, id=manifest.id, parent=manifest.parent,
            manifest=manifest.public() | {"formats": formats}, files=files,
            size=upload.files[wire.WEIGHTS].size, created_at=manifest.created_at or "",
            compact_of=manifest.compact.of if manifest.compact else None,
        )  # fmt: skip
        check = rt.probe_check(record, manifest)
        if not check.passed:
            raise refuse(422, "probe_mismatch", "this host's engine with the adapter does not "
                         "do what the device's did on the public probes: "
                         + "; ".join(check.reasons))  # fmt: skip
        return RevisionRecord(**{**record.__dict__, "probe_check": check.to_dict()})
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _rebuild(rt: HostRuntime, tenant: Tenant, rel: str, sent: wire.FileUpload,
             manifest: Manifest) -> bytes:  # fmt: skip
    limit = wire.MAX_FILE * 2 + (1 << 20)
    try:
        data = rt.store.join_chunks(tenant.id, sent.chunks, limit)
    except StoreError as e:
        raise refuse(409, "chunks_missing", e.message) from None
    if sent.encoding == "pdelta/1":
        base = None
        if sent.against is not None:
            against = rt.catalog.revision(tenant.id, sent.against)
            if against is None or rel not in against.files:
                raise refuse(409, "base_revision_missing", f"{rel} is a delta against "
                             f"{sent.against[:12]}, which is not here: push it whole")  # fmt: skip
            base = rt.store.read(against.files[rel])
        try:
            mode = read_header(data).get("mode")
            data = decode(data, base)
        except DeltaError as e:
            raise refuse(422, "delta_invalid", f"{rel}: {e.message}") from None
        if mode == "compact" and manifest.compact is None:
            raise refuse(422, "compact_unchecked", "a compact delta for a revision that is not "
                         "marked compact (and checked) in its manifest")  # fmt: skip
    if len(data) != sent.size or wire.sha256(data) != sent.sha256:
        raise refuse(422, "hash_mismatch", f"{rel} rebuilt to {len(data)} bytes hashing "
                     f"{wire.sha256(data)[:12]}, not {sent.size} bytes hashing {sent.sha256[:12]}")  # fmt: skip
    return data


def _check_adapter(rt: HostRuntime, mlx_dir: Path) -> None:
    try:
        config = json.loads((mlx_dir / "adapter_config.json").read_text())
        lora = config["lora_parameters"]
        rank, scale = lora["rank"], float(lora["scale"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise refuse(422, "not_an_adapter", f"adapter_config.json is not an mlx-lm LoRA "
                     f"configuration ({e})") from None  # fmt: skip
    if not isinstance(rank, int) or not 1 <= rank <= wire.MAX_RANK:
        raise refuse(422, "over_rank", f"LoRA rank {rank!r}: this host takes ranks 1 to "
                     f"{wire.MAX_RANK}")  # fmt: skip
    if not np.isfinite(scale) or not 0 < abs(scale) <= 1000:
        raise refuse(422, "not_an_adapter", f"LoRA scale {scale!r} is not a sane multiplier")
    try:
        weights = load_adapter(mlx_dir, rt.base.model)
    except NonFiniteWeights as e:
        raise refuse(422, "non_finite", e.message) from None
    except AdapterFormatError as e:
        raise refuse(422, "not_an_adapter", e.message) from None
    ranks = {w.shape[1] if k.endswith("lora_a") else w.shape[0] for k, w in weights.items()}
    if ranks != {rank}:
        raise refuse(422, "over_rank", f"tensor ranks {sorted(ranks)} do not match the "
                     f"configured rank {rank} (this host takes up to {wire.MAX_RANK})")  # fmt: skip

