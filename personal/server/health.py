"""`GET /health`: is the server up, which revision answers `personal`, how long the line is."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from personal.server.runtime import Runtime


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(tags=["health"])

    @r.get("/health")
    def health() -> dict[str, Any]:
        """Open without a token: no conversation data, only the serving state."""
        info = runtime.engine.info
        return {
            "status": "ok", "model": info.model, "backend": info.backend,
            "revision": runtime.revision, "logging": runtime.config.log,
            "queue": asdict(runtime.handler.queue.stats()),
            "warning": runtime.warning,
        }  # fmt: skip

    return r
