"""Who is asking: every route but /health and /metrics needs a tenant's token.

`Authorization: Bearer pt_...` → the token's SHA-256 → the tenant (catalog index lookup).
A missing, malformed or unknown token is the same 401. Bodies are bounded before they are
read (`LimitBody`): a chunk is at most 4 MiB, anything else far less.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request

from personal.api.errors import APIError, unauthorized
from personal.host.catalog import Tenant
from personal.host.tenants import PREFIX, token_hash
from personal.sync.wire import MAX_CHUNK

if TYPE_CHECKING:
    from personal.host.runtime import HostRuntime

MAX_BODY = MAX_CHUNK + (64 << 10)


def tenant_of(runtime: HostRuntime) -> Callable[[Request], Tenant]:
    def tenant(request: Request) -> Tenant:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value.startswith(PREFIX) or len(value) > 200:
            raise unauthorized()
        found = runtime.catalog.tenant_by_token(token_hash(value))
        if found is None:
            raise unauthorized()
        return found

    return tenant


class LimitBody:
    """ASGI middleware: a body announced larger than `limit` is refused (413) unread."""

    def __init__(self, app, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length", b"0")
            if length.isdigit() and int(length) > self.limit:
                from fastapi.responses import JSONResponse

                body = APIError(f"The request body is larger than {self.limit >> 10} KiB.",
                                status=413, code="too_large").body()  # fmt: skip
                await JSONResponse(body, 413)(scope, receive, send)
                return
        await self.app(scope, receive, send)
