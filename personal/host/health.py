"""`GET /health`: is the host up and which base it serves (open: nothing about tenants)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

if TYPE_CHECKING:
    from personal.host.runtime import HostRuntime


def router(runtime: HostRuntime) -> APIRouter:
    r = APIRouter(tags=["health"])

    @r.get("/health")
    def health() -> dict[str, Any]:
        """Open without a token: the serving state, no tenant's anything."""
        info = runtime.engine.info
        return {"status": "ok", "model": info.model, "backend": info.backend,
                "precision": runtime.base.precision, "n_ctx": info.n_ctx}  # fmt: skip

    return r
