"""Test helpers for the server: an app on the fake engine, a real uvicorn on loopback,
SSE parsing, and a revision registered for any engine."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from personal.adapters.manifest import BaseIdentity, Manifest
from personal.adapters.registry import WEIGHTS, Registry
from personal.engine.fake import FakeEngine
from personal.server.app import create_app
from personal.server.runtime import Runtime, ServeConfig

LOCAL = "http://127.0.0.1:8321"  # TestClient's base URL: a loopback Host header
HI = [{"role": "user", "content": "Hello there"}]


def fake_runtime(log=None, **config) -> Runtime:
    """A server runtime on the fake engine ("fake-model"), logging to `log` if given."""
    engine = FakeEngine(model="fake-model")
    config.setdefault("log", log is not None)
    return Runtime(ServeConfig(**config), engine=engine, chat_log=log).open()


def fake_revision(registry: Registry, engine, seed: int):
    """A revision of the engine's base with placeholder files (the fake engine only
    records which adapter it was given)."""
    staged = registry.stage()
    (staged / "mlx").mkdir()
    (staged / WEIGHTS).write_bytes(f"weights {seed}".encode())
    (staged / "adapter.gguf").write_bytes(b"not a real adapter")
    info = engine.info
    manifest = Manifest(base=BaseIdentity(info.model, "llama", info.fingerprint),
                        formats={"mlx": "mlx", "gguf": "adapter.gguf"})  # fmt: skip
    return registry.commit(staged, manifest)


def sse_events(text: str) -> list[dict | str]:
    """The `data:` payloads of an SSE body, JSON-decoded ("[DONE]" kept as a string)."""
    out: list[dict | str] = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def streamed_text(events: list[dict | str]) -> str:
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in events
                   if isinstance(e, dict) and e.get("choices"))  # fmt: skip


@contextmanager
def running(runtime: Runtime) -> Iterator[str]:
    """The runtime's app under a real uvicorn on a free loopback port; yields its URL."""
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
