"""`GET /metrics`: the host in Prometheus' text format (prometheus_client).

Counters and histograms are updated as things happen (requests by route and status, tokens,
queue waits, adapter loads, uploads); gauges are read at scrape time from the runtime
(queue length, resident adapters, tenants). No label carries a tenant's name or id, a
revision id or a path: /metrics is for the operator, and is served to loopback clients or
to the operator's metrics token only.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from personal.api.errors import APIError
from personal.api.handler import Event, Finished, Job, Started

if TYPE_CHECKING:
    from personal.host.runtime import HostRuntime

LOAD_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class HostMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("personal_host_requests", "HTTP requests by route and status",
                                ["route", "status"], registry=r)  # fmt: skip
        self.tokens = Counter("personal_host_tokens", "Tokens processed", ["kind"], registry=r)
        self.completions = Counter("personal_host_completions", "Chat completions answered",
                                   ["adapter"], registry=r)  # fmt: skip
        self.queue_wait = Histogram("personal_host_queue_wait_seconds",
                                    "Time a generation waited for the engine",
                                    buckets=WAIT_BUCKETS, registry=r)  # fmt: skip
        self.load_seconds = Histogram("personal_host_adapter_load_seconds",
                                      "Cold loads of an adapter into the engine",
                                      buckets=LOAD_BUCKETS, registry=r)  # fmt: skip
        self.uploads = Counter("personal_host_revision_uploads",
                               "Revision uploads by outcome", ["outcome"], registry=r)  # fmt: skip
        self.chunk_bytes = Counter("personal_host_chunk_bytes", "Bytes of chunks received",
                                   registry=r)  # fmt: skip

    def observer(self, job: Job) -> Callable[[Event], None]:
        """Counts one chat request's tokens and queue wait (reads no content)."""

        def observe(event: Event) -> None:
            if isinstance(event, Started) and event.round == 0:
                self.queue_wait.observe(event.waited_ms / 1000)
            elif isinstance(event, Finished):
                self.tokens.labels("prompt").inc(event.prompt_tokens)
                self.tokens.labels("completion").inc(event.completion_tokens)
                self.completions.labels("yes" if event.adapter else "no").inc()

        return observe

    def watch(self, runtime: HostRuntime) -> None:
        self.registry.register(_Live(runtime))


class _Live:
    """Gauges read from the runtime when scraped."""

    def __init__(self, runtime: HostRuntime):
        self.runtime = runtime

    def describe(self) -> list:
        return []

    def collect(self) -> Any:
        rt = self.runtime
        q = rt.queue.stats()
        s = rt.residency.stats()
        for name, doc, value in (
            ("personal_host_queue_waiting", "Generations waiting for the engine", q.waiting),
            ("personal_host_queue_running", "Generations running", q.active),
            ("personal_host_queue_slots", "Generations the engine runs at once", q.slots),
            ("personal_host_queue_limit", "Generations allowed to wait before 429", q.max_waiting),
            ("personal_host_resident_adapters", "Adapters loaded in the engine", s.resident),
            ("personal_host_resident_capacity", "Adapters that may be loaded (K)", s.capacity),
            ("personal_host_pinned_adapters", "Adapters pinned resident", s.pinned),
            ("personal_host_residency_hits_total", "Requests whose adapter was loaded", s.hits),
            ("personal_host_residency_misses_total", "Requests that loaded their adapter",
             s.misses),
            ("personal_host_residency_evictions_total", "Adapters freed to make room",
             s.evictions),
            ("personal_host_tenants", "Tenants in the catalog", len(rt.catalog.tenants())),
            ("personal_host_uptime_seconds", "Seconds since the host started",
             round(time.monotonic() - rt.started, 3)),
        ):  # fmt: skip
            if name.endswith("_total"):
                yield CounterMetricFamily(name.removesuffix("_total"), doc, value=value)
            else:
                yield GaugeMetricFamily(name, doc, value=value)
        # the same names whatever the engine; which one it is, and how many adapters one
        # batch may mix (llama.cpp: 1; vLLM: max_loras), as labels of one gauge
        extra = rt.engine.info.extra
        info = GaugeMetricFamily("personal_host_engine", "The inference engine behind the host",
                                 labels=["engine", "batch_adapters"])  # fmt: skip
        info.add_metric([rt.served.kind, str(extra.get("max_loras", 1))], 1)
        yield info


def router(runtime: HostRuntime) -> APIRouter:
    r = APIRouter(tags=["operator"])

    @r.get("/metrics", response_class=Response,
           responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"},
                      403: {"description": "Not loopback and no metrics token"}})  # fmt: skip
    def metrics(request: Request) -> Response:
        """The host's figures in Prometheus text format (loopback or the metrics token)."""
        _operator(request, runtime.config.metrics_token)
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return r


def _operator(request: Request, token: str | None) -> None:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token):
        return
    client = request.client.host if request.client else ""
    try:
        if ipaddress.ip_address(client).is_loopback:
            return
    except ValueError:
        if client in ("testclient", "localhost"):  # Starlette's test client, a unix socket
            return
    raise APIError("/metrics is for the host's operator: ask from the host itself, or send "
                   "the metrics token (personal host serve --metrics-token).", status=403,
                   type="permission_error")  # fmt: skip
