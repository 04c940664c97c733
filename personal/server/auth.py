"""Who may talk to the server.

On loopback (the default) anyone on this machine may — the same people who can read the
log file — but not a web page they happen to have open: requests whose `Host` is not a
loopback name (DNS rebinding) or whose `Origin` is another site are refused. Any other bind
address makes the model and the log reachable from the network, so it needs a token, sent
as `Authorization: Bearer TOKEN` on every request but `/health`.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import Request

from personal.api.errors import APIError, unauthorized
from personal.errors import PersonalError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
MAX_BODY = 8 << 20  # bytes; a request larger than this is refused before it is read


class TokenRequired(PersonalError):
    pass


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise TokenRequired(
            f"binding to {host} makes your model and your conversation log reachable from "
            "the network, so it needs a token",
            hint="add --token SECRET (or set PERSONAL_SERVE_TOKEN); clients then send "
            "'Authorization: Bearer SECRET'. Or bind to 127.0.0.1 (the default).",
        )


def _hostname(value: str) -> str:
    return urlsplit(f"//{value}").hostname or ""


def guard(token: str | None) -> Callable[[Request], None]:
    """A FastAPI dependency enforcing the rules above."""

    def check(request: Request) -> None:
        if token:
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
                raise unauthorized()
            return
        if not is_loopback(_hostname(request.headers.get("host", ""))):
            raise APIError("This server answers on loopback names only (Host header).",
                           status=403, type="permission_error")  # fmt: skip
        origin = request.headers.get("origin")
        if origin and origin != "null" and not is_loopback(urlsplit(origin).hostname or ""):
            raise APIError(f"Requests from web pages of {origin} are not allowed.",
                           status=403, type="permission_error")  # fmt: skip

    return check

