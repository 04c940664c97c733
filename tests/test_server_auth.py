"""Who may talk to the server: loopback by default, a token anywhere else, no web pages of
other sites, no oversized bodies; /health is open."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from personal.server.app import create_app
from personal.server.auth import TokenRequired, check_bind, is_loopback
from tests.live import HI, LOCAL, fake_runtime

BODY = {"model": "personal", "messages": HI}


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_token(host):
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_any_other_address_needs_a_token_and_says_so(host):
    assert not is_loopback(host)
    with pytest.raises(TokenRequired) as e:
        check_bind(host, None)
    assert "--token" in e.value.hint
    check_bind(host, "s3cret")


def test_the_cli_refuses_to_bind_off_loopback_without_a_token():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "personal.cli.main", "serve", "--host", "0.0.0.0",
                          "--backend", "fake"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 1 and "needs a token" in out.stderr and "Traceback" not in out.stderr


@pytest.fixture
def guarded():
    rt = fake_runtime(None, token="s3cret", host="0.0.0.0")
    with TestClient(create_app(rt), base_url="http://192.168.1.20:8321") as c:
        yield c
    rt.close()


def test_with_a_token_every_route_but_health_needs_it(guarded):
    assert guarded.get("/health").status_code == 200
    for path in ("/v1/models", "/api/revisions", "/"):
        r = guarded.get(path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = guarded.post("/v1/chat/completions", json=BODY, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    ok = guarded.post("/v1/chat/completions", json=BODY,
                      headers={"Authorization": "Bearer s3cret"})  # fmt: skip
    assert ok.status_code == 200


@pytest.fixture
def local():
    rt = fake_runtime(None)
    with TestClient(create_app(rt), base_url=LOCAL) as c:
        yield c
    rt.close()


def test_on_loopback_other_hosts_and_other_sites_are_refused(local):
    assert local.post("/v1/chat/completions", json=BODY).status_code == 200
    rebound = local.get("/v1/models", headers={"Host": "attacker.example:8321"})
    assert rebound.status_code == 403 and rebound.json()["error"]["type"] == "permission_error"
    page = local.post("/v1/chat/completions", json=BODY,
                      headers={"Origin": "https://attacker.example"})  # fmt: skip
    assert page.status_code == 403
    own = local.post("/v1/chat/completions", json=BODY, headers={"Origin": "http://127.0.0.1:8321"})
    assert own.status_code == 200


def test_an_oversized_body_is_refused_unread(local):
    r = local.post("/v1/chat/completions", content=b"x" * (9 << 20),
                   headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and "larger than" in r.json()["error"]["message"]
    assert local.post("/v1/chat/completions", json=BODY).status_code == 200
