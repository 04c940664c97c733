"""Response bodies and SSE chunks in the OpenAI shape (see `schema` for their models).

A stream is: one chunk with `delta.role`, one per piece of text, the tool calls (if the
client's tools were called) in one chunk with whole arguments, a last chunk with the
`finish_reason`, a usage chunk when `stream_options.include_usage` asks, then
`data: [DONE]`. Chunks are written as plain dicts: this runs once per token.
"""

from __future__ import annotations

import json
from typing import Any

from personal.api.handler import Finished, Job

DONE = "data: [DONE]\n\n"


def sse(obj: dict[str, Any]) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'))}\n\n"


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}  # fmt: skip


def completion(job: Job, done: Finished, model: str, fingerprint: str) -> dict[str, Any]:
    return {
        "id": job.id, "object": "chat.completion", "created": job.created, "model": model,
        "system_fingerprint": fingerprint,
        "choices": [{"index": 0, "message": done.message, "finish_reason": done.finish_reason,
                     "logprobs": None}],
        "usage": usage(done.prompt_tokens, done.completion_tokens),
    }  # fmt: skip


class Chunks:
    """The SSE lines of one streamed answer."""

    def __init__(self, job: Job, model: str, fingerprint: str):
        self._head = {"id": job.id, "object": "chat.completion.chunk", "created": job.created,
                      "model": model, "system_fingerprint": fingerprint}  # fmt: skip
        self._usage = bool(job.request.stream_options and job.request.stream_options.include_usage)

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return sse({**self._head, "choices": [choice], **extra})

    def role(self) -> str:
        return self._chunk({"role": "assistant", "content": ""})

    def text(self, text: str) -> str:
        return self._chunk({"content": text})

    def end(self, done: Finished) -> str:
        lines = []
        calls = done.message.get("tool_calls")
        if calls:
            lines.append(
                self._chunk({"tool_calls": [{"index": i, **c} for i, c in enumerate(calls)]})
            )
        lines.append(self._chunk({}, done.finish_reason))
        if self._usage:
            lines.append(sse({**self._head, "choices": [],
                              "usage": usage(done.prompt_tokens, done.completion_tokens)}))  # fmt: skip
        lines.append(DONE)
        return "".join(lines)
