"""The HTTP side of the sync client: one method per endpoint of docs/sync.md (httpx).

Transient failures (the host unreachable, a 5xx, a dropped connection) are retried a few
times with a growing pause; a refusal (4xx) is raised as `HostRefused` with the host's own
message and code. Nothing here decides what to send: see `push.py` and `pull.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from personal.errors import PersonalError
from personal.sync import wire

T = TypeVar("T")
RETRIES = 4


class SyncError(PersonalError):
    pass


class HostUnreachable(SyncError):
    pass


class HostRefused(SyncError):
    def __init__(self, status: int, code: str | None, message: str, hint: str | None = None):
        super().__init__(f"the host refused ({status}{', ' + code if code else ''}): {message}",
                         hint=hint)  # fmt: skip
        self.status, self.code, self.reason = status, code, message


class HostClient:
    def __init__(self, url: str, token: str, *, http: httpx.Client | None = None,
                 timeout: float = 120.0, retries: int = RETRIES, pause: float = 0.5):  # fmt: skip
        self.url = url.rstrip("/")
        self.http = http or httpx.Client(base_url=self.url, timeout=timeout)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.retries, self.pause = retries, pause
        self.sent_bytes = 0  # request bodies sent (for the benchmark and `sync push -v`)

    def close(self) -> None:
        self.http.close()

    # --- plumbing ---------------------------------------------------------------------
    def _call(self, method: str, path: str, headers: dict[str, str] | None = None,
              **kwargs: Any) -> httpx.Response:  # fmt: skip
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.pause * 2 ** (attempt - 1))
            try:
                response = self.http.request(method, path, headers={**self.headers,
                                                                    **(headers or {})}, **kwargs)  # fmt: skip
            except httpx.TransportError as e:
                last = e
                continue
            body = kwargs.get("content") or b""
            self.sent_bytes += len(body) if isinstance(body, bytes | bytearray) else 0
            if response.status_code >= 500 and response.status_code != 501:
                last = HostRefused(response.status_code, _code(response), _message(response))
                continue
            if response.status_code >= 400:
                raise _refusal(response)
            return response
        if isinstance(last, HostRefused):
            raise last
        raise HostUnreachable(f"the host at {self.url} did not answer ({last})",
                              hint="check the URL and the network; run the same command "
                              "again — a push resumes where it stopped")  # fmt: skip

    def _json(self, method: str, path: str, model: Callable[..., T], **kwargs: Any) -> T:
        return model(**self._call(method, wire.PREFIX + path, **kwargs).json())

    # --- endpoints --------------------------------------------------------------------
    def state(self) -> wire.SyncState:
        return self._json("GET", "/state", wire.SyncState)

    def missing(self, chunks: list[str]) -> list[str]:
        out: list[str] = []
        for i in range(0, len(chunks), 4096):
            body = wire.MissingRequest(chunks=chunks[i : i + 4096]).model_dump()
            out += self._json("POST", "/chunks/missing", wire.MissingResponse, json=body).missing
        return out

    def put_chunk(self, sha: str, data: bytes) -> bool:
        """Send one chunk; a chunk the host says arrived damaged is sent again."""
        for _ in range(3):
            try:
                r = self._call("PUT", f"{wire.PREFIX}/chunks/{sha}", content=data,
                               headers={"Content-Type": "application/octet-stream"})  # fmt: skip
                return bool(r.json().get("stored"))
            except HostRefused as e:
                if e.code != "chunk_hash_mismatch":
                    raise
        raise HostRefused(400, "chunk_hash_mismatch", f"chunk {sha[:12]} arrived damaged three "
                          "times", hint="the connection corrupts data; try another network")  # fmt: skip

    def register_raw(self, body: bytes) -> wire.Registered:
        """Register a revision from its request body, sent as these exact bytes."""
        return self._json("POST", "/revisions", wire.Registered, content=body,
                          headers={"Content-Type": "application/json"})  # fmt: skip

    def revision(self, rev: str) -> dict[str, Any]:
        return self._call("GET", f"{wire.PREFIX}/revisions/{rev}").json()

    def file(self, rev: str, path: str) -> bytes:
        return self._call("GET", f"{wire.PREFIX}/revisions/{rev}/files/{path}").content

    def move_pointer(self, move: wire.PointerMove) -> wire.PointerState:
        body = move.model_dump()
        if "expect" not in move.model_fields_set:
            body.pop("expect")
        return self._json("PUT", "/pointer", wire.PointerState, json=body)


def _code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"].get("code")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:500] or response.reason_phrase


def _refusal(response: httpx.Response) -> HostRefused:
    status, code, message = response.status_code, _code(response), _message(response)
    hint = None
    if status == 401:
        hint = "the host does not know this token: personal sync login URL --token T"
    elif code == "pointer_conflict":
        hint = "the host's pointer moved meanwhile: personal sync status, then push again"
    return HostRefused(status, code, message, hint)
