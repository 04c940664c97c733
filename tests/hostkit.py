"""A host and devices in one process, for the host and sync tests (test helper).

The device runs a tiny Q8_0 llama (its "Q4"); the host serves the same base rewritten at
F32 (the same weights, another file) with llama.cpp. Tenants' clients talk to the host's
app through Starlette's test client, which is an httpx client like the real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from personal.adapters import probes
from personal.adapters.registry import Registry, Revision
from personal.engine.llama import LlamaEngine
from personal.host.app import create_app
from personal.host.base import prepare_base
from personal.host.runtime import HostConfig, HostRuntime
from personal.host.tenants import new_token, token_hash
from personal.models import catalog
from personal.sync import push as sync_push
from personal.sync.client import HostClient
from tests.q8_gguf import write_q8_gguf
from tests.revisions import import_revision, nudge, random_weights
from tests.tinymodel import write_tiny_llama_gguf


def device_base(folder: Path):
    f32 = write_tiny_llama_gguf(folder / "tiny.gguf", n_layer=2)
    return catalog.resolve(str(write_q8_gguf(f32, folder / "tiny.Q8_0.gguf")))


def open_host(root: Path, base, *, engine: str = "llama.cpp", resident: int = 2,
              precision: str = "F32", **config) -> HostRuntime:  # fmt: skip
    host_base = prepare_base(root, str(base.path), precision)
    return HostRuntime(HostConfig(root=root, engine=engine, resident=resident, n_ctx=512,
                                  threads=2, **config), base=host_base).open()  # fmt: skip


@dataclass
class Device:
    name: str
    registry: Registry
    base: object
    engine: LlamaEngine
    client: HostClient
    token: str
    folder: Path

    def revision(self, seed: int, parent: Revision | None = None, **kw) -> Revision:
        """A new revision: random weights, or `parent`'s nudged (a nightly update)."""
        if parent is None:
            weights = random_weights(self.base, seed=seed, **kw)
        else:
            from personal.adapters.formats import read_mlx_adapter

            weights = nudge(read_mlx_adapter(parent.file("mlx"))[1], seed=seed)
        rev = import_revision(self.registry, self.base, weights, self.folder)
        return probes.ensure(self.registry, rev, self.engine)

    def push(self, rev: Revision, make_current: bool = True, **kw):
        state = self.client.state()
        out = sync_push.prepare(self.registry, rev, state, make_current=make_current, **kw)
        return sync_push.send(self.client, out), out


def add_device(runtime: HostRuntime, app, name: str, base, engine, folder: Path) -> Device:
    token = new_token()
    runtime.catalog.add_tenant(name, token_hash(token))
    folder.mkdir(parents=True, exist_ok=True)
    client = HostClient("http://testserver", token, http=TestClient(app), pause=0.01)
    return Device(name, Registry(folder / "adapters"), base, engine, client, token, folder)


def host_app(runtime: HostRuntime):
    return create_app(runtime)
