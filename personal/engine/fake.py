"""A scriptable engine for UI and unit tests: no model, deterministic, fast.

    engine = FakeEngine()
    engine.enqueue("Paris is the capital of France.")
    stream = engine.chat([{"role": "user", "content": "Capital of France?"}])

With nothing queued it echoes the last user message. `delay` slows each piece so tests
can cancel mid-stream; `calls` records every message list it was given.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Generator
from typing import Any

from personal.engine.base import (
    SLOT,
    AdapterRef,
    Engine,
    EngineInfo,
    GenerationParams,
    Message,
    Usage,
)
from personal.engine.toolcall import OPEN, render_call

FAKE_VOCAB = 64


def _seed(text: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


class FakeEngine(Engine):
    forces_tools = True

    def __init__(self, model: str = "fake", delay: float = 0.0, n_ctx: int = 2048):
        super().__init__()
        self.info = EngineInfo(backend="fake", model=model, fingerprint="0" * 64, n_ctx=n_ctx)
        self.delay = delay
        self.calls: list[list[Message]] = []
        self.attached: list[str | None] = []
        self.preloaded: list[str] = []
        self.evicted: list[str] = []
        self._queue: deque[str] = deque()
        self._release = threading.Event()
        self._release.set()

    def enqueue(self, *replies: str) -> None:
        self._queue.extend(replies)

    def hold(self) -> None:
        """Block generations after their first piece until `release()` (for cancel tests)."""
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\S+\s*", text))

    def _generate(
        self, messages: list[Message], params: GenerationParams, cancel: threading.Event
    ) -> Generator[str, None, Usage]:
        self.calls.append([dict(m) for m in messages])
        if self._queue:
            reply = self._queue.popleft()
        else:
            last = next((m for m in reversed(messages) if m.get("role") == "user"), None)
            reply = f"You said: {last.get('content') if last else ''}"
        if params.force_tool and params.tools and OPEN not in reply:  # a call to the first tool
            reply = render_call(params.tools[0].get("function", {}).get("name", ""), {})
        prompt_tokens = sum(self.count_tokens(str(m.get("content") or "")) for m in messages)
        stop_at = [reply.find(s) for s in params.stop if s and s in reply]
        reply = reply[: min(stop_at)] if stop_at else reply
        pieces = re.findall(r"\S+\s*|\s+", reply)
        out = 0
        for i, piece in enumerate(pieces):
            if cancel.is_set():
                return Usage(prompt_tokens, out, "cancelled")
            if out >= params.max_tokens:
                return Usage(prompt_tokens, out, "length")
            if self.delay:
                time.sleep(self.delay)
            out += 1
            yield piece
            if i == 0:
                while not self._release.wait(0.01):
                    if cancel.is_set():
                        return Usage(prompt_tokens, out, "cancelled")
        return Usage(prompt_tokens, out, "stop")

    def _attach(self, ref: AdapterRef) -> None:
        self.attached.append(ref.id)

    def preload(self, ref: AdapterRef) -> None:
        self.preloaded.append(ref.id)

    def evict(self, ref: AdapterRef) -> None:
        self.evicted.append(ref.id)

    def next_logprobs(
        self, messages: list[Message], *, prefix: str = "", adapter: AdapterRef | None = SLOT
    ) -> tuple[list[int], Any]:
        """A made-up distribution over FAKE_VOCAB tokens, fixed by the prompt; an adapter
        tilts it by an amount fixed by its id (the same id, the same tilt everywhere)."""
        import numpy as np

        ref = self._adapter if adapter is SLOT else adapter
        text = "".join(str(m.get("content") or "") for m in messages) + prefix
        tokens = [ord(c) % FAKE_VOCAB for c in text]
        logits = np.random.default_rng(_seed(text)).normal(0, 2, FAKE_VOCAB)
        if ref is not None:
            logits = logits + np.random.default_rng(_seed(ref.id + text)).normal(0, 1, FAKE_VOCAB)
        top = logits.max()
        return tokens, logits - top - np.log(np.exp(logits - top).sum())

    def _detach(self) -> None:
        self.attached.append(None)
