"""The host's FastAPI app, assembled from one router per area.

    health   GET /health                                  (open)
    metrics  GET /metrics                                 (the operator: loopback or token)
    openai   GET /v1/models, POST /v1/chat/completions    (personal.api, per tenant)
    sync     /sync/v1/...                                  (revisions in, pointers, pull)

Every route but /health and /metrics resolves the bearer token to a tenant (`auth`), and
everything after that is scoped to it. Errors have the OpenAI shape; the OpenAPI schema is
published at /openapi.json (tests fuzz it).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request

from personal import __version__
from personal.api.handler import ChatHandler
from personal.api.limits import LimitBody
from personal.api.router import install_error_handlers, openai_router
from personal.host import auth, health, metrics, sync_routes
from personal.host.catalog import Tenant
from personal.host.runtime import HostRuntime


def create_app(runtime: HostRuntime) -> FastAPI:
    app = FastAPI(
        title="personal host",
        version=__version__,
        description="Many people's adapters on one base. Model names, per token: `personal` "
        "(your current revision), `personal@REV` (one of yours), the base's name (none).",
    )
    install_error_handlers(app)
    tenant_of = auth.tenant_of(runtime)
    who = Depends(tenant_of)

    def handler(tenant: Tenant = who) -> ChatHandler:
        return runtime.handler_for(tenant)

    app.include_router(health.router(runtime))
    app.include_router(metrics.router(runtime))
    app.include_router(openai_router(handler, lambda: runtime.observer))
    app.include_router(sync_routes.router(runtime, tenant_of))

    @app.middleware("http")
    async def count(request: Request, call_next):
        response = await call_next(request)
        route = request.scope.get("route")
        runtime.metrics.requests.labels(getattr(route, "path", "other"),
                                        str(response.status_code)).inc()  # fmt: skip
        return response

    app.add_middleware(LimitBody, limit=auth.MAX_BODY)
    return app
