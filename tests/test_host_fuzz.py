"""Schemathesis against the host's published OpenAPI schema: whatever a tenant sends —
chat requests, chunks, revision uploads, pointer moves — no 5xx. The fake engine answers
(the routes, validation, catalog and intake are the real ones)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from personal.host.app import create_app
from personal.host.tenants import new_token, token_hash
from tests.hostkit import device_base, open_host

MODELS = ("personal", "tiny.Q8_0", "personal@0000", "personal@" + "ab" * 32, "nope")
TOKEN = new_token()


@pytest.fixture
def host_schema(tmp_path):
    base = device_base(tmp_path)
    runtime = open_host(tmp_path / "host", base, engine="fake", precision="as-is")
    runtime.catalog.add_tenant("fuzz", token_hash(TOKEN))
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(runtime))

    @schema.hook
    def map_body(context, body):
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            body["model"] = MODELS[len(body["model"]) % len(MODELS)]
        return body

    yield schema
    runtime.close()


schema = schemathesis.pytest.from_fixture("host_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                           checks=[not_a_server_error])  # fmt: skip


def test_the_schema_publishes_the_openai_and_sync_routes(host_schema):
    paths = set(host_schema.raw_schema["paths"])
    assert {"/v1/chat/completions", "/v1/models", "/health", "/metrics", "/sync/v1/state",
            "/sync/v1/chunks/{sha256}", "/sync/v1/revisions", "/sync/v1/pointer"} <= paths  # fmt: skip
