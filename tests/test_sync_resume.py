"""A push cut off anywhere resumes where it stopped; a host that dies while registering
shows no revision, and the push completes when it is back."""

from __future__ import annotations

import itertools

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personal.host.app import create_app
from personal.host.runtime import HostRuntime
from personal.sync import push as sync_push
from tests.hostkit import add_device, device_base, host_app, open_host

SEEDS = itertools.count(100)


class Cut(Exception):
    """The connection (or the client process) died here."""


@pytest.fixture(scope="module")
def world(module_dir):
    from personal.engine.llama import LlamaEngine

    d = module_dir
    base = device_base(d)
    runtime = open_host(d / "host", base)
    app = host_app(runtime)
    engine = LlamaEngine(base, n_ctx=512, n_threads=2)
    dev = add_device(runtime, app, "sam", base, engine, d / "sam")
    yield runtime, app, dev
    engine.close()
    runtime.close()


def with_budget(dev, budget: int):
    """The device's client, its connection cut once `budget` request bytes went out."""
    inner, sent = dev.client.http._transport, [0]

    class Budget(httpx2.BaseTransport):
        def handle_request(self, request):
            body = request.read()
            if sent[0] + len(body) > budget:
                raise Cut(f"cut after {sent[0]} bytes")
            sent[0] += len(body)
            return inner.handle_request(request)

    dev.client.http._transport = Budget()
    return inner, sent


@given(st.floats(0.0, 1.0))
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_push_cut_at_any_byte_resumes_where_it_stopped(world, fraction):
    runtime, _, dev = world
    rev = dev.revision(seed=next(SEEDS), std=0.5)  # a new revision every time
    out = sync_push.prepare(dev.registry, rev, dev.client.state(), make_current=False,
                            chunk_size=4096)  # fmt: skip
    total = out.wire_bytes
    inner, sent = with_budget(dev, int(fraction * total))
    try:
        sync_push.send(dev.client, out)
        cut = False
    except Cut:
        cut = True
    finally:
        dev.client.http._transport = inner
    tenant = runtime.catalog.tenant("sam").id
    assert (runtime.catalog.revision(tenant, rev.id) is not None) == (not cut)
    delivered = sent[0]
    before = dev.client.sent_bytes
    again = sync_push.prepare(dev.registry, rev, dev.client.state(), make_current=False,
                              chunk_size=4096)  # fmt: skip
    sync_push.send(dev.client, again)
    resent = dev.client.sent_bytes - before
    if cut:  # what was delivered is not sent again (at most the chunk it was cut in)
        assert resent <= total - delivered + 4096 + len(out.body), (resent, total, delivered)
    record = runtime.catalog.revision(tenant, rev.id)
    assert runtime.store.path(record.files["mlx/adapters.safetensors"]).read_bytes() == (
        rev.path / "mlx/adapters.safetensors").read_bytes()  # fmt: skip


def test_a_host_that_dies_while_registering_shows_nothing_and_the_push_completes(world):
    runtime, _, dev = world
    rev = dev.revision(seed=77, std=0.5)
    tenant = runtime.catalog.tenant("sam").id

    class Killed(Exception):
        pass

    def die(*args, **kwargs):
        raise Killed("the host was killed here")  # after the blobs, before the catalog

    real = runtime.catalog.register
    runtime.catalog.register = die  # type: ignore[method-assign]
    try:
        with pytest.raises(Killed):
            dev.push(rev)
    finally:
        runtime.catalog.register = real  # type: ignore[method-assign]
    assert runtime.catalog.revision(tenant, rev.id) is None
    assert rev.id[:12] not in dev.client.http.get("/v1/models", headers=dev.client.headers).text
    # the host starts again on the same root; the chunks are still there
    again = HostRuntime(runtime.config, base=runtime.base, served=runtime.served).open()
    dev.client.http.app = create_app(again)  # type: ignore[attr-defined]
    try:
        before = dev.client.sent_bytes
        done, out = dev.push(rev)
        assert done.created and done.current.revision == rev.id
        assert dev.client.sent_bytes - before == len(out.body)  # no chunk sent twice
    finally:
        dev.client.http.app = host_app(runtime)  # type: ignore[attr-defined]
