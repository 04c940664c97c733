"""The large-model path: the host's base with the person's revision, as an `Engine`.

    engine = RemoteEngine(url, token, revision=current_id)
    ChatSession(engine, log)            # answers logged like any other, with provenance

`chat` sends the conversation to the host's OpenAI API (`model` = personal@REV, streamed)
and turns the SSE chunks back into a `Stream`: text pieces as they arrive; tool calls the
host returns are rendered in the tool-call markup the local stream parses, so the session
runs them here as it runs local ones. The answer's `adapter` is the revision the host says
answered (`X-Personal-Revision`). `info.extra["provenance"]` carries the host's URL for the
log. Nothing else of the device goes with a request: only the conversation it is about.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx

from personal.engine.base import (
    SLOT,
    AdapterRef,
    Engine,
    EngineInfo,
    GenerationParams,
    Message,
    Stream,
    Usage,
)
from personal.engine.toolcall import render_call
from personal.errors import EngineError
from personal.sync.client import HostClient, HostRefused, HostUnreachable

REMOTE = Path("remote")  # an AdapterRef's path for a revision that lives on the host


class RemoteEngine(Engine):
    forces_tools = True

    def __init__(self, url: str, token: str, *, revision: str | None,
                 http: httpx.Client | None = None, timeout: float = 300.0):  # fmt: skip
        super().__init__()
        self.client = HostClient(url, token, http=http, timeout=timeout)
        try:
            health = self.client._call("GET", "/health").json()
            state = self.client.state()
        except (HostUnreachable, HostRefused) as e:
            raise EngineError(f"the host at {url} cannot be used: {e.message}", hint=e.hint) from None
        self.info = EngineInfo(
            backend="remote", model=str(health.get("model")),
            fingerprint=str(state.base.get("fingerprint")), n_ctx=int(health.get("n_ctx") or 4096),
            extra={"provenance": {"remote": True, "host": self.client.url,
                                  "host_backend": health.get("backend"),
                                  "host_precision": health.get("precision")}},
        )  # fmt: skip
        self._adapter = AdapterRef(revision, REMOTE) if revision else None

    def _attach(self, ref: AdapterRef) -> None:  # the revision is named per request
        pass

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)  # an estimate: the host's tokenizer is not here

    def _generate(self, messages: list[Message], params: GenerationParams,
                  cancel: threading.Event) -> Generator[str, None, Usage]:  # fmt: skip
        raise EngineError("a remote engine generates through chat()")  # pragma: no cover

    def chat(self, messages: list[Message], params: GenerationParams | None = None,
             tools: list[dict[str, Any]] | None = None, *, adapter: AdapterRef | None = SLOT,
             fresh: bool = False) -> Stream:  # fmt: skip
        params = params or GenerationParams()
        ref = self._adapter if adapter is SLOT else adapter
        body: dict[str, Any] = {
            "model": f"personal@{ref.id}" if ref else self.info.model,
            "messages": [_wire(m) for m in messages], "stream": True,
            "stream_options": {"include_usage": True}, "max_tokens": params.max_tokens,
            "temperature": params.temperature, "top_p": params.top_p,
        }  # fmt: skip
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)[:4]
        if tools:
            body["tools"] = tools
            if params.force_tool:
                body["tool_choice"] = "required"
        stream: Stream

        def pieces() -> Generator[str, None, Usage]:
            usage, finish = (0, 0), "stop"
            with self.client.http.stream("POST", "/v1/chat/completions", json=body,
                                         headers=self.client.headers) as r:  # fmt: skip
                if r.status_code >= 400:
                    r.read()
                    raise EngineError(f"the host refused the request ({r.status_code}): "
                                      f"{_error(r)}")  # fmt: skip
                answered = r.headers.get("x-personal-revision", "none")
                stream.adapter = None if answered == "none" else answered
                for line in r.iter_lines():
                    if stream.cancel_event.is_set():
                        return Usage(usage[0], usage[1], "cancelled")
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    if "error" in chunk:
                        raise EngineError(f"the host failed mid-answer: {chunk['error'].get('message')}")
                    if chunk.get("usage"):
                        u = chunk["usage"]
                        usage = (u.get("prompt_tokens", 0), u.get("completion_tokens", 0))
                    for choice in chunk.get("choices") or []:
                        delta = choice.get("delta") or {}
                        if delta.get("content"):
                            yield delta["content"]
                        for call in delta.get("tool_calls") or []:
                            fn = call.get("function") or {}
                            yield render_call(fn.get("name", ""), _arguments(fn.get("arguments")))
                        finish = choice.get("finish_reason") or finish
            return Usage(usage[0], usage[1], "length" if finish == "length" else "stop")

        stream = Stream(pieces(), ref.id if ref else None, tools=bool(tools))
        return stream

    def close(self) -> None:
        self.client.close()


def _wire(m: Message) -> dict[str, Any]:
    out = {k: v for k, v in m.items() if k in ("role", "content", "tool_calls", "tool_call_id")}
    if out.get("role") == "assistant" and out.get("tool_calls") and not out.get("content"):
        out["content"] = None
    if out.get("content") is None and out.get("role") != "assistant":
        out["content"] = ""
    return out


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _error(r: httpx.Response) -> str:
    try:
        return str(r.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return r.text[:300]
