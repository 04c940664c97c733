"""Revisions travel to a host and back: a whole one, then a delta; stored once; served to
their tenant only; restored bit for bit onto a fresh device. (In-process: the host's app
behind Starlette's test client; tiny Q8_0 device model, the host at F32, llama.cpp.)"""

from __future__ import annotations

import pytest

from personal.adapters.registry import Registry
from personal.engine import GenerationParams
from personal.engine.llama import LlamaEngine
from personal.sync.pull import pull
from tests.hostkit import add_device, device_base, host_app, open_host

HELLO = [{"role": "user", "content": "hello world"}]


@pytest.fixture(scope="module")
def world(module_dir):
    d = module_dir
    base = device_base(d)
    runtime = open_host(d / "host", base)
    app = host_app(runtime)
    engine = LlamaEngine(base, n_ctx=512, n_threads=2)
    sam = add_device(runtime, app, "sam", base, engine, d / "sam")
    ada = add_device(runtime, app, "ada", base, engine, d / "ada")
    yield runtime, app, sam, ada
    engine.close()
    runtime.close()


def chat(device, model: str, max_tokens: int = 6):
    r = device.client.http.post("/v1/chat/completions", headers=device.client.headers, json={
        "model": model, "messages": HELLO, "temperature": 0, "max_tokens": max_tokens})  # fmt: skip
    return r


def test_a_whole_revision_then_a_delta(world):
    runtime, _, sam, _ = world
    first = sam.revision(seed=1, std=0.5)
    done, out = sam.push(first)
    assert done.created and done.current.revision == first.id and out.against is None
    assert done.revision.probe_check["passed"], done.revision.probe_check
    second = sam.revision(seed=2, parent=first)
    done2, out2 = sam.push(second)
    assert done2.created and out2.against == first.id
    assert done2.current.revision == second.id
    weights = [sum(len(o.chunks[c]) for c in o.upload.files["mlx/adapters.safetensors"].chunks)
               for o in (out, out2)]  # fmt: skip
    assert weights[1] < 0.9 * weights[0], weights  # a nudge costs less than the whole
    ids = [r.id for r in sam.client.state().revisions]
    assert ids == [second.id, first.id]
    record = runtime.catalog.revision(runtime.catalog.tenant("sam").id, second.id)
    assert set(record.files) >= {"mlx/adapters.safetensors", "adapter.gguf",
                                 "peft/adapter_model.safetensors"}  # fmt: skip
    for rel, sha in record.files.items():  # derived here, byte for byte the device's
        assert (second.path / rel).read_bytes() == runtime.store.path(sha).read_bytes(), rel


def test_pushing_twice_stores_once(world):
    _, _, sam, _ = world
    rev = sam.registry.list()[0]
    before = sam.client.sent_bytes
    done, out = sam.push(rev)
    assert not done.created
    assert sam.client.sent_bytes - before == len(out.body)  # no chunk sent again


def test_the_host_answers_with_the_tenants_adapter_like_the_device(world):
    _, _, sam, _ = world
    current = sam.registry.list()[0]
    params = GenerationParams(temperature=0, max_tokens=6)
    on_device = sam.engine.chat(HELLO, params, adapter=_ref(current)).complete().text
    bare = sam.engine.chat(HELLO, params, adapter=None).complete().text
    assert on_device != bare
    for model in ("personal", f"personal@{current.id[:12]}"):
        r = chat(sam, model)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == on_device
        assert r.headers["X-Personal-Revision"] == current.id
    assert chat(sam, "tiny.Q8_0").json()["choices"][0]["message"]["content"] == bare
    streamed = sam.client.http.post("/v1/chat/completions", headers=sam.client.headers, json={
        "model": "personal", "messages": HELLO, "temperature": 0, "max_tokens": 6,
        "stream": True})  # fmt: skip
    assert streamed.status_code == 200 and "data: [DONE]" in streamed.text


def _ref(rev):
    from personal.adapters.serving import adapter_ref

    return adapter_ref(rev, "llama.cpp")


def test_another_tenant_sees_nothing_of_it(world):
    _, _, sam, ada = world
    theirs = sam.registry.list()[0].id
    absent = "ab" * 32
    assert ada.client.state().revisions == []
    names = [m["id"] for m in ada.client.http.get("/v1/models", headers=ada.client.headers
                                                  ).json()["data"]]  # fmt: skip
    assert not any(theirs[:12] in n for n in names)
    for ref in (theirs, theirs[:12]):
        a, b = chat(ada, f"personal@{ref}"), chat(ada, f"personal@{absent[: len(ref)]}")
        assert a.status_code == b.status_code == 404
        assert a.json()["error"]["message"].replace(ref, "X") == b.json()["error"][
            "message"].replace(absent[: len(ref)], "X")  # fmt: skip
    for path in (f"/sync/v1/revisions/{theirs}", f"/sync/v1/revisions/{theirs}/files/"
                 "mlx/adapters.safetensors"):  # fmt: skip
        r = ada.client.http.get(path, headers=ada.client.headers)
        other = ada.client.http.get(path.replace(theirs, absent), headers=ada.client.headers)
        assert r.status_code == other.status_code == 404
        assert r.json()["error"]["message"].replace(theirs[:12], "X") == other.json()["error"][
            "message"].replace(absent[:12], "X")  # fmt: skip
    r = ada.client.http.put("/sync/v1/pointer", headers=ada.client.headers,
                            json={"revision": theirs, "reason": "rollback"})  # fmt: skip
    assert r.status_code == 404
    assert chat(ada, "personal").status_code == 404  # ada has no revision yet


def test_no_token_or_a_wrong_one_is_401_everywhere(world):
    _, app, sam, _ = world
    http = sam.client.http
    for headers in ({}, {"Authorization": "Bearer pt_nope"}, {"Authorization": sam.token}):
        for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions"),
                             ("GET", "/sync/v1/state"), ("PUT", "/sync/v1/pointer"),
                             ("PUT", "/sync/v1/chunks/" + "0" * 64)):  # fmt: skip
            r = http.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (path, headers, r.text)
    assert http.get("/health").status_code == 200


def test_pull_restores_the_revisions_bit_for_bit(world, tmp_path):
    _, _, sam, _ = world
    fresh = Registry(tmp_path / "fresh")
    done = pull(sam.client, fresh, sam.base)
    assert len(done.restored) == 2 and done.current == sam.client.state().current.revision
    for rev in sam.registry.list():
        copy = fresh.get(rev.id)
        for rel in rev.manifest.files:
            if rel in ("manifest.json", "loss.json", "report.json"):
                continue
            assert (copy.path / rel).read_bytes() == (rev.path / rel).read_bytes(), rel
    again = pull(sam.client, fresh, sam.base)
    assert again.restored == [] and len(again.present) == 2


def test_metrics_count_what_happened(world):
    runtime, _, sam, _ = world
    text = sam.client.http.get("/metrics").text  # the test client counts as loopback
    for name in ("personal_host_requests_total", "personal_host_tokens_total",
                 "personal_host_residency_hits_total", "personal_host_residency_misses_total",
                 "personal_host_adapter_load_seconds_bucket", "personal_host_queue_waiting",
                 "personal_host_revision_uploads_total"):  # fmt: skip
        assert name in text, name
    private = {f'"{t.name}"' for t in runtime.catalog.tenants()}
    private |= {t.id for t in runtime.catalog.tenants()} | {r.id[:12] for r in sam.registry.list()}
    assert [s for s in private if s in text] == []
