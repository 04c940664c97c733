"""A host on `--engine vllm` (or `ray`) with real processes, for the vLLM tests (test helper).

The device side is the embedded SmolLM2 Q4_1 in llama.cpp; the host serves the same base
at F32 with vLLM from the vLLM venv (`./dev` installs it: $PERSONAL_VLLM_VENV); the host's
gateway is a real uvicorn server on a loopback port, and devices push and chat through it
with the real sync client over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from personal.adapters.registry import Registry
from personal.host.app import create_app
from personal.host.runtime import HostRuntime
from personal.host.tenants import new_token, token_hash
from personal.host.vllm_server import free_port
from personal.sync.client import HostClient
from tests.hostkit import Device

ROOT = Path(__file__).resolve().parents[1]


def vllm_python() -> Path:
    """The vLLM venv's interpreter; a missing venv fails the test with what to do."""
    from personal.host.vllm_env import default_venv, vllm_python

    venv = Path(os.environ.get("PERSONAL_VLLM_VENV") or ROOT / ".venv-vllm")
    os.environ.setdefault("PERSONAL_VLLM_VENV", str(venv))
    assert (venv / "bin" / "python").is_file(), (
        f"no vLLM venv at {venv}: ./dev test installs it (or python -m personal.host.vllm_env "
        f"install {venv}); default {default_venv()}")
    return vllm_python(venv)


@contextmanager
def gateway(runtime: HostRuntime):
    """The host's app on a real loopback socket; yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port,
                                           log_level="warning", timeout_graceful_shutdown=2))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def add_device(runtime: HostRuntime, url: str, name: str, base, engine, folder: Path) -> Device:
    token = new_token()
    runtime.catalog.add_tenant(name, token_hash(token))
    folder.mkdir(parents=True, exist_ok=True)
    client = HostClient(url, token, pause=0.05)
    return Device(name, Registry(folder / "adapters"), base, engine, client, token, folder)


def chat(url: str, token: str, model: str, prompt: str = "What is the capital of France?",
         max_tokens: int = 16) -> httpx.Response:  # fmt: skip
    return httpx.post(f"{url}/v1/chat/completions", timeout=300,
                      headers={"Authorization": f"Bearer {token}"},
                      json={"model": model, "temperature": 0, "max_tokens": max_tokens,
                            "messages": [{"role": "user", "content": prompt}]})  # fmt: skip


def together(calls: list) -> list:
    """Run the calls at the same instant (threads behind a barrier), results in order."""
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return results


def listeners(pids: list[int]) -> list[str]:
    """Listening TCP sockets of these processes, as `ss` prints them."""
    out = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in out[1:] if any(f"pid={p}," in line for p in pids)]


@dataclass
class Tenants:
    url: str
    sam: Device
    ada: Device
