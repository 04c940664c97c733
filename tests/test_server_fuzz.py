"""Schemathesis against the published OpenAPI schema: whatever a client sends, no 5xx.

The fake engine answers (the schema, the validation and the recording are the same as
with llama.cpp); the log records what is accepted, so the recorder is fuzzed too."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from personal.server.app import create_app
from tests.live import fake_runtime

MODELS = ("personal", "fake-model", "personal@0000", "nope")


@pytest.fixture
def api_schema(log):
    runtime = fake_runtime(log)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(runtime))

    @schema.hook
    def map_body(context, body):
        """Random model names are nearly always unknown (a 404 before anything runs): name
        the known ones most of the time, so generation and recording are fuzzed too."""
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            body["model"] = MODELS[len(body["model"]) % len(MODELS)]
        return body

    yield schema
    runtime.close()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case):
    case.call_and_validate(headers={"Host": "127.0.0.1"}, checks=[not_a_server_error])


def test_the_schema_is_published_with_the_openai_routes(api_schema):
    paths = api_schema.raw_schema["paths"]
    assert {"/v1/chat/completions", "/v1/models", "/health"} <= set(paths)
    responses = paths["/v1/chat/completions"]["post"]["responses"]
    assert {"200", "400", "404", "429"} <= set(responses)
