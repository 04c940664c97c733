"""Open an engine by backend name: the one place that picks an implementation."""

from __future__ import annotations

import os

from personal.engine.base import Engine
from personal.errors import EngineUnavailable
from personal.models.catalog import BaseModel, resolve

BACKENDS = ("llama.cpp", "mlx", "fake")


def open_engine(
    model: str | BaseModel | None = None,
    *,
    backend: str | None = None,
    n_ctx: int = 4096,
    n_threads: int | None = None,
) -> Engine:
    """Load `model` (a resolved BaseModel, a catalog name or .gguf path; the default model
    if None) with `backend`.

    `$PERSONAL_BACKEND` picks the backend when none is given ("fake" is for tests and
    demos: it needs no model file and answers by echoing). `$PERSONAL_FAKE_DELAY` slows
    the fake engine's every piece by that many seconds, so a test can kill a real
    `personal ask` mid-stream.
    """
    backend = backend or os.environ.get("PERSONAL_BACKEND") or "llama.cpp"
    if backend == "fake":
        from personal.engine.fake import FakeEngine

        try:
            delay = float(os.environ.get("PERSONAL_FAKE_DELAY") or 0)
        except ValueError:
            raise EngineUnavailable("PERSONAL_FAKE_DELAY must be a number of seconds") from None
        return FakeEngine(model=getattr(model, "name", model) or "fake", delay=max(delay, 0.0))
    base = model if isinstance(model, BaseModel) else resolve(model)
    if backend == "llama.cpp":
        from personal.engine.llama import LlamaEngine

        return LlamaEngine(base, n_ctx=n_ctx, n_threads=n_threads)
    if backend == "mlx":
        from personal.engine.mlx_engine import MLXEngine

        return MLXEngine(
            base.path, fingerprint=base.fingerprint, model_name=base.name, n_ctx=n_ctx
        )
    raise EngineUnavailable(
        f"unknown backend {backend!r}", hint=f"use one of: {', '.join(BACKENDS)}"
    )
