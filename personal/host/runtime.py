"""What one `personal host serve` process holds: the catalog, the blob store, the base and
its engine, the residency of adapters, the generation queue and the metrics.

    runtime = HostRuntime(HostConfig(root=...)).open()
    handler = runtime.handler_for(tenant)      # an OpenAI ChatHandler scoped to the tenant
    runtime.close()

Every tenant's handler shares the one engine and the one fair queue; it answers only names
of its own tenant (`TenantNames`), never offers server-side tools, and forgets the cached
prompt prefix before every request (`isolate`): no KV state crosses from one request —
one tenant — to the next. A generation's adapter is leased from `Residency` when its turn
comes, so a cold load happens then, once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from personal.adapters import probes
from personal.adapters.manifest import Manifest
from personal.api.errors import APIError
from personal.api.handler import ChatHandler, Job
from personal.api.queue import GenerationQueue, QueueFull
from personal.engine.base import SLOT, AdapterRef
from personal.host.base import ACCEPTS, HostBase, prepare_base
from personal.host.catalog import Catalog, RevisionRecord, Tenant, open_catalog
from personal.host.engines import HostEngine, open_host_engine
from personal.host.metrics import HostMetrics
from personal.host.names import TenantNames
from personal.host.residency import Residency
from personal.host.store import Store
from personal.sync import wire

log = logging.getLogger("personal.host")
DEFAULT_PORT = 8341


@dataclass(frozen=True)
class HostConfig:
    root: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    model: str | None = None  # the catalog model (or .gguf) whose base this host serves
    precision: str = "F32"  # F32 | F16 | as-is
    engine: str = "llama.cpp"
    resident: int = 8  # K: adapters kept loaded
    queue: int = 64  # generations that may wait before 429
    threads: int | None = None
    n_ctx: int = 4096
    accepts: tuple[str, ...] = ACCEPTS
    metrics_token: str | None = None
    blob_grace_s: float = 3600.0  # unreferenced blobs younger than this survive a GC
    # engine-specific settings (vLLM: batch_adapters, url, python, layers; see vllm_host.py)
    engine_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class HostRuntime:
    config: HostConfig
    base: HostBase | None = None
    served: HostEngine | None = None
    catalog: Catalog | None = None
    started: float = field(default_factory=time.monotonic)

    def open(self) -> HostRuntime:
        root = Path(self.config.root)
        root.mkdir(parents=True, exist_ok=True)
        self.store = Store(root)
        self.store.clear_tmp()
        self.store.expire_chunks()
        self.catalog = self.catalog or open_catalog(root)
        if self.base is None:
            self.base = prepare_base(root, self.config.model, self.config.precision,
                                     self.config.accepts)  # fmt: skip
        if self.served is None:
            self.served = open_host_engine(self.config.engine, self.base,
                                           threads=self.config.threads, n_ctx=self.config.n_ctx,
                                           root=root, resident=self.config.resident,
                                           **self.config.engine_options)  # fmt: skip
        self.engine = self.served.engine
        self.metrics = HostMetrics()
        self.residency = Residency(self.engine, self.config.resident,
                                   on_load=self.metrics.load_seconds.observe)  # fmt: skip
        self.queue = GenerationQueue(self.config.queue, running=self.served.concurrency)
        self.metrics.watch(self)
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        self._pinned: dict[str, str] = {}  # tenant id → residency key pinned for it
        self._base_probes: probes.HostSide | None = None
        gone = self.store.gc(self.catalog.blobs(), self.config.blob_grace_s)
        if gone:
            log.info("removed %d unreferenced blobs", gone)
        return self

    # --- serving ----------------------------------------------------------------------
    def handler_for(self, tenant: Tenant) -> ChatHandler:
        names = TenantNames(tenant, self.catalog, self.store, self.served)  # type: ignore[arg-type]
        self._follow_pin(tenant)
        return ChatHandler(self.engine, names, queue=self.queue, tools=None, default_system=None,
                           isolate=True, hold=self._hold)  # fmt: skip

    def observer(self, job: Job) -> Any:
        return self.metrics.observer(job)

    def _hold(self, job: Job) -> AbstractContextManager[Any]:
        ref = job.target.adapter
        if ref is None or ref is SLOT:
            return nullcontext()
        return self.residency.lease(_key(ref), ref)

    def _follow_pin(self, tenant: Tenant) -> None:
        """A hot (pinned) tenant's current revision stays resident; it follows the pointer."""
        was = self._pinned.get(tenant.id)
        want = None
        if tenant.pinned:
            current = self.catalog.pointer(tenant.id).revision  # type: ignore[union-attr]
            record = self.catalog.revision(tenant.id, current) if current else None  # type: ignore[union-attr]
            if record is not None:
                ref = self.served.ref(record, self.store)  # type: ignore[union-attr]
                want = _key(ref)
        if want == was:
            return
        if was is not None:
            self.residency.unpin(was)
            self._pinned.pop(tenant.id, None)
        if want is not None:
            try:
                self.residency.pin(want, ref)
                self._pinned[tenant.id] = want
            except ValueError as e:
                log.warning("tenant %s stays unpinned: %s", tenant.name, e)

    def pin_if_hot(self, tenant: Tenant) -> None:
        fresh = self.catalog.tenant(tenant.name)  # type: ignore[union-attr]
        if fresh is not None:
            self._follow_pin(fresh)

    # --- receiving --------------------------------------------------------------------
    @contextmanager
    def tenant_lock(self, tenant_id: str):
        with self._locks_guard:
            lock = self._locks[tenant_id]
        with lock:
            yield

    @contextmanager
    def turn(self):
        """A turn on the engine through the fair queue (as a generation would get one)."""
        try:
            ticket = self.queue.join()
        except QueueFull as e:
            raise APIError(f"the host is busy ({e.waiting} generations waiting); retry in "
                           f"{e.retry_after} s", status=503, code="busy",
                           headers={"Retry-After": str(e.retry_after)}) from None  # fmt: skip
        try:
            ticket.wait()
            yield
        finally:
            ticket.leave()

    def probe_check(self, record: RevisionRecord, manifest: Manifest) -> probes.ProbeCheck:
        """This host's engine with the revision's adapter against the device's record."""
        ref = self.served.ref(record, self.store)  # type: ignore[union-attr]
        with self.turn():
            if self._base_probes is None:
                self._base_probes = probes.run(self.engine, None)
            with self.residency.lease(_key(ref), ref):
                adapted = probes.run(self.engine, ref)
        check = probes.compare(manifest.probes, adapted, self._base_probes)
        check.figures["engine"] = self.served.kind  # which engine the record speaks for
        return check

    # --- views ------------------------------------------------------------------------
    def revision_info(self, record: RevisionRecord) -> wire.RevisionInfo:
        files = {}
        for rel, sha in record.files.items():
            path = self.store.path(sha)
            files[rel] = wire.FileInfo(sha256=sha, size=path.stat().st_size if path.exists() else None)
        return wire.RevisionInfo(
            id=record.id, parent=record.parent, created_at=record.created_at,
            registered_at=record.registered_at, size=record.size, compact_of=record.compact_of,
            files=files, probe_check=record.probe_check,
        )  # fmt: skip

    def pointer_state(self, tenant_id: str) -> wire.PointerState:
        p = self.catalog.pointer(tenant_id)  # type: ignore[union-attr]
        return wire.PointerState(revision=p.revision, pinned=p.pinned, moved_at=p.moved_at,
                                 reason=p.reason)  # fmt: skip

    def forget_tenant(self, removed: list[RevisionRecord]) -> None:
        """Free what a removed tenant had loaded (unless another tenant shares the blob)."""
        for record in removed:
            self.residency.forget(_key(self.served.ref(record, self.store)))  # type: ignore[union-attr]

    def close(self) -> None:
        if getattr(self, "served", None) is not None:
            self.served.close()
        if self.catalog is not None:
            self.catalog.close()


def _key(ref: AdapterRef) -> str:
    """Residency key: the adapter file (revisions with the same weights share it)."""
    return str(ref.path)
