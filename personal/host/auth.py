"""Who is asking: every route but /health and /metrics needs a tenant's token.

`Authorization: Bearer pt_...` → the token's SHA-256 → the tenant (catalog index lookup).
A missing, malformed or unknown token is the same 401. Bodies are bounded before they are
read (`personal.api.limits.LimitBody`): a chunk is at most 4 MiB, anything else far less.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request

from personal.api.errors import unauthorized
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

