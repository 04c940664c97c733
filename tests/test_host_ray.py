"""`--engine ray` for real: Ray Serve LLM (one CPU vLLM replica, the vLLM venv) behind the
host's gateway, adapters published to a loopback S3-compatible store (moto) and
multiplexed by name; two tenants push revisions from their devices and chat through it.

Ray deploys in ≈60-100 s on 2 cores and takes ≈5 GB. Every listener — Ray's, the replica's,
vLLM's inside it, the object store's — must be on loopback.
"""

from __future__ import annotations

import httpx
import pytest

from personal.api.router import REVISION_HEADER
from personal.engine.llama import LlamaEngine
from personal.host.base import prepare_base
from personal.host.runtime import HostConfig, HostRuntime
from personal.host.vllm_server import descendants
from tests.vllmkit import add_device, chat, gateway, listeners, together, vllm_python

pytestmark = [pytest.mark.slow, pytest.mark.model]


@pytest.fixture(scope="module")
def world(module_home, module_dir, smollm2_base):
    python = vllm_python()
    d = module_dir
    config = HostConfig(root=d / "host", engine="ray", resident=4, n_ctx=1024,
                        engine_options={"python": python, "batch_adapters": 2,
                                        "lora_layers": 2, "replicas": 1})  # fmt: skip
    base = prepare_base(config.root, str(smollm2_base.path), "F32")
    runtime = HostRuntime(config, base=base).open()
    device_engine = LlamaEngine(smollm2_base, n_ctx=1024, n_threads=2)
    try:
        with gateway(runtime) as url:
            sam = add_device(runtime, url, "sam", smollm2_base, device_engine, d / "sam")
            ada = add_device(runtime, url, "ada", smollm2_base, device_engine, d / "ada")
            revs = {"sam": sam.revision(seed=1, std=0.3), "ada": ada.revision(seed=2, std=0.3)}
            for device in (sam, ada):
                done, _ = device.push(revs[device.name])
                assert done.revision.probe_check["passed"], done.revision.probe_check
            yield runtime, url, sam, ada, revs
    finally:
        device_engine.close()
        runtime.close()


def text(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["message"]["content"]


def test_two_tenants_revisions_are_routed_through_ray(world):
    runtime, url, sam, ada, revs = world
    bare = text(chat(url, sam.token, runtime.engine.info.model))
    answers = {}
    for device in (sam, ada):
        r = chat(url, device.token, "personal")
        assert r.headers[REVISION_HEADER] == revs[device.name].id
        answers[device.name] = text(r)
    assert len({bare, answers["sam"], answers["ada"]}) == 3, answers
    # Ray names them base:<immutable name>; the gateway never shows those names
    listed = httpx.get(runtime.engine.url + "/v1/models").json()["data"]
    published = {m["id"] for m in listed}
    for device in (sam, ada):
        record = runtime.catalog.revision(runtime.catalog.tenant(device.name).id,
                                          revs[device.name].id)  # fmt: skip
        assert runtime.engine.adapters.name(runtime.served.ref(record, runtime.store)) in published
    assert chat(url, sam.token, f"personal@{revs['ada'].id[:12]}").status_code == 404
    # mixed batches on the replica: the same tokens as alone (the CPU LoRA fix loads there too)
    asks = {"base": lambda: chat(url, sam.token, runtime.engine.info.model, max_tokens=24),
            "sam": lambda: chat(url, sam.token, "personal", max_tokens=24),
            "ada": lambda: chat(url, ada.token, "personal", max_tokens=24)}  # fmt: skip
    alone = {name: text(ask()) for name, ask in asks.items()}
    for group in (["base", "sam", "ada"], ["base", "ada", "sam", "base"]):
        for name, r in zip(group, together([asks[n] for n in group]), strict=True):
            assert text(r) == alone[name], f"{name} differs when batched with {group} on Ray"


def test_every_listener_is_on_loopback(world):
    runtime = world[0]
    pids = [p for proc in runtime.served.server.procs for p in (proc.pid, *descendants(proc.pid))]
    found = listeners(pids)
    assert len(found) > 5, found  # Ray's gcs, raylet, workers, Serve, vLLM, the object store
    assert all(line.split()[3].startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:"))
               for line in found), found  # fmt: skip
