"""A body size limit for the servers built on this layer (`personal serve`, the host)."""

from __future__ import annotations

from personal.api.errors import APIError


class LimitBody:
    """ASGI middleware: a body announced larger than `limit` bytes is refused (413) unread."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length", b"0")
            if length.isdigit() and int(length) > self.limit:
                from fastapi.responses import JSONResponse

                body = APIError(f"The request body is larger than {_size(self.limit)}.",
                                status=413, code="too_large").body()  # fmt: skip
                await JSONResponse(body, 413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n >> 10} KiB"
