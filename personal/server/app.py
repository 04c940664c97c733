"""The server's FastAPI app, assembled from one router per area.

    health   GET /health                                (open)
    openai   GET /v1/models, POST /v1/chat/completions  (personal.api, shared with a host)
    pages    GET / and /api/... for the local web page

Every route but /health passes the access rules of `auth`; every error has the OpenAI
shape; the OpenAPI schema is published at /openapi.json.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from personal import __version__
from personal.api.limits import LimitBody
from personal.api.router import install_error_handlers, openai_router
from personal.server import auth, health, pages
from personal.server.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="personal",
        version=__version__,
        description="Your own model, OpenAI-compatible. Model names: `personal` (the current "
        "adapter revision), `personal@REV` (a pinned one), the base's name (no adapter).",
    )
    install_error_handlers(app)
    guarded = [Depends(auth.guard(runtime.config.token))]
    app.include_router(health.router(runtime))
    app.include_router(openai_router(lambda: runtime.handler, lambda: runtime.observer),
                       dependencies=guarded)  # fmt: skip
    app.include_router(pages.router(runtime), dependencies=guarded)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    app.add_middleware(LimitBody, limit=auth.MAX_BODY)
    return app
