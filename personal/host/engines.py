"""The engine behind a host: one resident base, adapters passed per request.

    served = open_host_engine("llama.cpp", base, threads=4)
    ref = served.ref(record, store)           # how this engine names a revision's adapter
    served.engine.chat(messages, adapter=ref)

A host needs three things from an engine, and nothing else: chat with a per-request
adapter (`Engine.chat(adapter=...)`), loading and freeing adapters on command
(`Engine.preload` / `Engine.evict`, which `Residency` drives) and next-token distributions
for the probe check (`Engine.next_logprobs`). Which file of a revision an engine loads is
the engine's business: llama.cpp loads the GGUF-LoRA blob by path. A second engine (vLLM:
PEFT directories under an immutable name per revision, loaded over its runtime-LoRA API)
implements the same `Engine` methods and its own `ref`, and registers in ENGINES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from personal.engine.base import AdapterRef, Engine
from personal.errors import EngineUnavailable
from personal.host.base import HostBase
from personal.host.catalog import RevisionRecord
from personal.host.store import Store

GGUF = "adapter.gguf"


@dataclass
class HostEngine:
    kind: str
    engine: Engine
    ref: Callable[[RevisionRecord, Store], AdapterRef]
    concurrency: int = 1  # generations the engine runs at once (vLLM batches many)
    on_close: Callable[[], None] | None = None  # e.g. stop the server process it started

    def close(self) -> None:
        self.engine.close()
        if self.on_close is not None:
            self.on_close()


def peft_ref(record: RevisionRecord, store: Store) -> AdapterRef:
    """vLLM: the PEFT export as a directory under a name unique to tenant and revision."""
    return AdapterRef(record.id, materialized(store, record, store.root / "peft", "peft"))


def gguf_ref(record: RevisionRecord, store: Store) -> AdapterRef:
    """llama.cpp (and the fake engine): the GGUF-LoRA blob, named by the revision id."""
    return AdapterRef(record.id, store.path(record.files[GGUF]))  # alpha is in the file


def _llama(base: HostBase, threads: int | None, n_ctx: int, **_: Any) -> HostEngine:
    from personal.engine.llama import LlamaEngine

    engine = LlamaEngine(base.model, n_ctx=n_ctx, n_threads=threads, resident=None)
    return HostEngine("llama.cpp", engine, gguf_ref)


def _fake(base: HostBase, threads: int | None, n_ctx: int, **_: Any) -> HostEngine:
    from personal.engine.fake import FakeEngine

    engine = FakeEngine(model=base.model.name, n_ctx=n_ctx)
    engine.info = engine.info.__class__("fake", base.model.name, base.identity.fingerprint, n_ctx)
    return HostEngine("fake", engine, gguf_ref)


def _vllm(base: HostBase, threads: int | None, n_ctx: int, **options: Any) -> HostEngine:
    from personal.host.vllm_host import open_vllm

    return open_vllm(base, threads=threads, n_ctx=n_ctx, **options)


def _ray(base: HostBase, threads: int | None, n_ctx: int, **options: Any) -> HostEngine:
    from personal.host.vllm_ray import open_ray

    return open_ray(base, threads=threads, n_ctx=n_ctx, **options)


ENGINES: dict[str, Callable[..., HostEngine]] = {
    "llama.cpp": _llama,
    "vllm": _vllm,  # a vLLM server on loopback (personal/host/vllm_host.py)
    "ray": _ray,  # vLLM replicas behind Ray Serve LLM (personal/host/vllm_ray.py)
    "fake": _fake,  # tests and demos: echoes; no model runs
}


# From benchmarks/host_engines.py (docs/benchmarks.md): with one client at a time llama.cpp
# in-process answers as fast as vLLM and starts in seconds, not a minute and a half; from 8
# concurrent clients vLLM's batching serves 2.5x the requests per second.
AUTO_VLLM_FROM = 8


def pick_engine(clients: int, vllm_installed: bool) -> str:
    """`--engine auto`: vLLM for `clients` ≥ AUTO_VLLM_FROM concurrent clients when its venv
    is installed, llama.cpp otherwise."""
    return "vllm" if clients >= AUTO_VLLM_FROM and vllm_installed else "llama.cpp"


def open_host_engine(kind: str, base: HostBase, *, threads: int | None = None,
                     n_ctx: int = 4096, **options: Any) -> HostEngine:  # fmt: skip
    """`options`: what an engine needs beyond the base (the host's root, K resident, the
    vLLM settings, `clients` for auto); engines ignore what they do not use."""
    if kind == "auto":
        from personal.host.vllm_env import default_venv, is_current

        venv = options.get("python")
        installed = bool(venv) or is_current(default_venv())
        kind = pick_engine(int(options.get("clients") or 1), installed)
    if kind not in ENGINES:
        raise EngineUnavailable(f"the host has no {kind!r} engine",
                                hint=f"use one of: {', '.join(ENGINES)}")  # fmt: skip
    return ENGINES[kind](base, threads, n_ctx, **options)


def materialized(store: Store, record: RevisionRecord, root: Path, prefix: str) -> Path:
    """A revision's files as a directory tree (e.g. `peft/` for engines that load
    directories), under a name unique to the revision: never reloaded in place."""
    files = {rel.removeprefix(prefix + "/"): sha for rel, sha in record.files.items()
             if rel.startswith(prefix + "/")}  # fmt: skip
    dest = Path(root) / f"{record.tenant}-{record.id[:32]}"
    return dest if dest.is_dir() else store.materialize(files, dest)
