"""Bad input to the sync API: each is a clear 4xx with its reason, nothing is half
registered, and the host keeps serving."""

from __future__ import annotations

import json

import httpx2  # Starlette's test client is built on this fork of httpx
import numpy as np
import pytest

from personal.adapters import importer
from personal.adapters.formats import read_mlx_adapter
from personal.host.tenants import BadTenantName, check_name
from personal.sync import push as sync_push
from personal.sync import wire
from personal.sync.client import HostRefused
from tests.hostkit import add_device, device_base, host_app, open_host
from tests.revisions import import_revision, random_weights


@pytest.fixture(scope="module")
def world(module_dir):
    from personal.engine.llama import LlamaEngine

    d = module_dir
    base = device_base(d)
    runtime = open_host(d / "host", base)
    app = host_app(runtime)
    engine = LlamaEngine(base, n_ctx=512, n_threads=2)
    eve = add_device(runtime, app, "eve", base, engine, d / "eve")
    good = eve.revision(seed=1, std=0.5)
    eve.push(good)
    yield runtime, app, eve, good
    engine.close()
    runtime.close()


def tampered(eve, rev, change=None, files=None, **kw) -> sync_push.Outgoing:
    """`rev`'s outgoing push with its manifest changed by `change` (body rebuilt)."""
    out = sync_push.prepare(eve.registry, rev, eve.client.state(), **kw)
    body = json.loads(out.body)
    if change:
        change(body["manifest"])
    if files:
        files(body["files"])
    out.body = json.dumps(body).encode()
    return out


def refused(eve, out) -> HostRefused:
    with pytest.raises(HostRefused) as e:
        sync_push.send(eve.client, out)
    return e.value


def still_fine(runtime, eve, good, *absent):
    """Nothing of the refused revisions is registered, and the host keeps serving."""
    tenant = runtime.catalog.tenant("eve")
    ids = {r.id for r in runtime.catalog.revisions(tenant.id)}
    assert good.id in ids and not ids & {r.id for r in absent}
    r = eve.client.http.post("/v1/chat/completions", headers=eve.client.headers, json={
        "model": "personal", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})  # fmt: skip
    assert r.status_code == 200 and runtime.catalog.pointer(tenant.id).revision == good.id


def test_a_corrupted_chunk_is_refused_by_its_hash_and_sent_again(world):
    runtime, app, eve, good = world
    rev = eve.revision(seed=5, std=0.5)
    inner, flipped = eve.client.http._transport, []

    class Corrupting(httpx2.BaseTransport):
        def handle_request(self, request):
            if request.method == "PUT" and "/chunks/" in request.url.path and not flipped:
                data = bytearray(request.read())
                data[len(data) // 2] ^= 0xFF
                flipped.append(request.url.path)
                request = httpx2.Request(request.method, request.url, headers=request.headers,
                                        content=bytes(data))  # fmt: skip
            return inner.handle_request(request)

    eve.client.http._transport = Corrupting()
    try:
        done, _ = eve.push(rev, make_current=False)
    finally:
        eve.client.http._transport = inner
    assert flipped and done.created
    assert runtime.catalog.pointer(runtime.catalog.tenant("eve").id).revision == good.id


@pytest.mark.parametrize("what, change, status, code", [
    ("wrong parent", lambda m: m.update(parent="cd" * 32), 409, "parent_missing"),
    ("another base", lambda m: m["base"].update(source="someone/else", shapes="0" * 64,
                                                 fingerprint="1" * 64, weights="2" * 64),
     422, "base_mismatch"),
    ("hashes that do not match", lambda m: m["files"]["mlx/adapter_config.json"].update(
        sha256="3" * 64), 422, "hash_mismatch"),
    ("an id that is not its weights'", lambda m: m.update(id="4" * 64), 422, "id_mismatch"),
    ("a path for an id", lambda m: m.update(id="../../catalog.db"), 422, "manifest_invalid"),
    ("no probes", lambda m: m.update(probes=None), 422, "probe_mismatch"),
    ("an unchecked compact revision", lambda m: m.update(compact={
        "of": "5" * 64, "against": "6" * 64, "bits": 8, "loss_exact": 1.0,
        "loss_compact": 1.5}), 422, "compact_unchecked"),
])  # fmt: skip
def test_a_bad_manifest_is_refused_with_its_reason(world, what, change, status, code):
    runtime, _, eve, good = world
    rev = eve.revision(seed=7, std=0.5)
    e = refused(eve, tampered(eve, rev, change))
    assert (e.status, e.code) == (status, code), (what, e)
    still_fine(runtime, eve, good, rev)


def test_weights_that_are_not_what_the_manifest_says(world):
    runtime, _, eve, good = world
    rev = eve.revision(seed=8, std=0.5)
    other = eve.revision(seed=9, std=0.5)
    out = tampered(eve, rev, make_current=False)
    swap = sync_push.prepare(eve.registry, other, eve.client.state())
    out.upload.files["mlx/adapters.safetensors"].chunks[:] = swap.upload.files[
        "mlx/adapters.safetensors"].chunks  # fmt: skip
    out.chunks.update(swap.chunks)
    body = json.loads(out.body)
    body["files"]["mlx/adapters.safetensors"]["chunks"] = swap.upload.files[
        "mlx/adapters.safetensors"].chunks  # fmt: skip
    out.body = json.dumps(body).encode()
    e = refused(eve, out)
    assert e.status == 422 and e.code == "hash_mismatch"
    against = tampered(eve, rev, files=lambda f: f["mlx/adapters.safetensors"].update(
        against="ef" * 32))  # fmt: skip
    e = refused(eve, against)
    assert e.status == 409 and e.code == "base_revision_missing"
    still_fine(runtime, eve, good, rev)


@pytest.mark.parametrize("weights, code", [
    (lambda base: {k: np.where(np.arange(v.size).reshape(v.shape) == 3, np.nan, v).astype(
        np.float32) for k, v in random_weights(base, seed=11).items()}, "non_finite"),
    (lambda base: random_weights(base, seed=12, rank=96), "over_rank"),
])  # fmt: skip
def test_weights_no_engine_should_load_are_refused(world, weights, code, tmp_path, monkeypatch):
    runtime, _, eve, good = world
    with monkeypatch.context() as hostile:  # a device whose importer lets anything through
        hostile.setattr(importer, "load_adapter", lambda path, base: read_mlx_adapter(path)[1])
        rev = import_revision(eve.registry, eve.base, weights(eve.base), tmp_path)
    e = refused(eve, sync_push.prepare(eve.registry, rev, eve.client.state(), make_current=True))
    assert e.status == 422 and e.code == code, e
    still_fine(runtime, eve, good, rev)


def test_a_replayed_upload_cannot_move_the_pointer_back(world):
    runtime, _, eve, good = world
    old = sync_push.prepare(eve.registry, good, eve.client.state(), make_current=True)
    newer = eve.revision(seed=13, std=0.5)
    done, _ = eve.push(newer)
    assert done.current.revision == newer.id
    e = refused(eve, old)  # the same bytes as good's push, sent again later
    assert e.status == 409 and e.code == "pointer_conflict"
    assert runtime.catalog.pointer(runtime.catalog.tenant("eve").id).revision == newer.id
    eve.client.move_pointer(wire.PointerMove(revision=good.id, reason="rollback"))


def test_oversized_and_path_like_requests(world):
    runtime, _, eve, good = world
    http, headers = eve.client.http, eve.client.headers
    r = http.put("/sync/v1/chunks/" + "0" * 64, headers=headers,
                 content=b"\0" * (wire.MAX_CHUNK + 1))  # fmt: skip
    assert r.status_code == 413
    for path in ("/sync/v1/chunks/..%2F..%2Fcatalog.db", "/sync/v1/revisions/..%2Fx",
                 f"/sync/v1/revisions/{good.id}/files/..%2F..%2Fcatalog.db",
                 f"/sync/v1/revisions/{good.id}/files/adapter.gguf"):  # fmt: skip
        r = http.request("PUT" if "chunks" in path else "GET", path, headers=headers, content=b"x")
        assert r.status_code in (404, 422), (path, r.status_code)
    for model, status in (("personal@../../etc/passwd", 404), ("personal@" + "a" * 10_000, 400),
                          ("x" * 100_000, 400)):  # fmt: skip
        r = http.post("/v1/chat/completions", headers=headers, json={
            "model": model, "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
        assert r.status_code == status and len(r.text) < 2000, (model[:20], r.text[:300])
        assert r.json()["error"]["param"] == "model"
    r = http.post("/sync/v1/revisions", headers=headers, json={
        "manifest": {}, "files": {"../../x": {}}})  # fmt: skip
    assert r.status_code == 400
    big = {"sha256": "0" * 64, "size": wire.MAX_FILE + 1, "encoding": "raw", "chunks": ["0" * 64]}
    r = http.post("/sync/v1/revisions", headers=headers, json={
        "manifest": {}, "files": {"mlx/adapters.safetensors": big}})  # fmt: skip
    assert r.status_code == 400 and "size" in r.json()["error"]["message"]
    for name in ("../x", "a/b", "", "x" * 33, "Sam", "é"):
        with pytest.raises(BadTenantName):
            check_name(name)
    still_fine(runtime, eve, good)
