"""Serving the person's model: the base engine with the registry's current adapter.

Everything that answers the user (`personal ask`, the chat UI) opens its engine here, so
it runs with the revision the registry says is current for that base.
"""

from __future__ import annotations

from dataclasses import dataclass

from personal.adapters.registry import Registry, Revision
from personal.engine.base import AdapterRef, Engine
from personal.engine.load import open_engine
from personal.errors import AdapterError, PersonalError, RegistryError

FORMAT_FOR_BACKEND = {"llama.cpp": "gguf", "mlx": "mlx", "fake": "gguf"}  # fake: records only


def adapter_ref(rev: Revision, backend: str) -> AdapterRef:
    fmt = FORMAT_FOR_BACKEND.get(backend)
    if fmt is None:
        raise AdapterError(f"the {backend} engine cannot run adapters")
    return AdapterRef(id=rev.id, path=rev.file(fmt))


@dataclass
class Served:
    engine: Engine
    revision: Revision | None
    warning: str | None = None  # why the wanted adapter is not attached, if it is not


def attach(engine: Engine, rev: Revision | None) -> None:
    """Make `rev` the engine's adapter (None: the bare base). Keeps the previous adapter
    and raises if `rev` cannot be loaded."""
    if rev is None:
        engine.detach_adapter()
        return
    if rev.base_fingerprint != engine.info.fingerprint:
        raise AdapterError(
            f"revision {rev.short} was trained on another base model",
            hint="pick a revision of this base: personal adapters list",
        )
    engine.attach_adapter(adapter_ref(rev, engine.info.backend))


def open_served(
    model: str | None = None,
    *,
    backend: str | None = None,
    adapter: str | None = "current",
    n_threads: int | None = None,
    registry: Registry | None = None,
) -> Served:
    """Open the engine and attach `adapter` ("current", a revision id, or None).

    A broken current revision does not stop the chat: the base runs alone and `warning`
    says why. An explicitly requested revision that cannot be used is an error.
    """
    engine = open_engine(model, backend=backend, n_threads=n_threads)
    if adapter is None or engine.info.backend == "fake":
        return Served(engine, None)
    registry = registry or Registry()
    try:
        rev = registry.get(adapter, engine.info.fingerprint) if adapter != "current" else (
            registry.current(engine.info.fingerprint))  # fmt: skip
        attach(engine, rev)
        return Served(engine, rev)
    except PersonalError as e:
        if adapter != "current" or not isinstance(e, AdapterError | RegistryError):
            engine.close()
            raise
        return Served(engine, None, warning=f"running without an adapter: {e.message}")
