"""Traces leave for Langfuse over OTLP with the right names and attributes, sampled."""

from __future__ import annotations

import base64
import gzip
import threading
import uuid
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.api.app import create_app
from agent.tracing import sampled
from tests.live import ServerThread, settings_for


class OtlpReceiver:
    """A real OTLP/HTTP endpoint where Langfuse's exporter posts spans."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.lock = threading.Lock()

        async def traces(request: Request) -> Response:
            body = await request.body()
            if request.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            msg = ExportTraceServiceRequest()
            msg.ParseFromString(body)
            with self.lock:
                self.auth.append(request.headers.get("authorization", ""))
                for rs in msg.resource_spans:
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            self.spans.append(
                                {
                                    "name": s.name,
                                    "trace_id": s.trace_id.hex(),
                                    "span_id": s.span_id.hex(),
                                    "parent": s.parent_span_id.hex(),
                                    "scope": ss.scope.name,
                                    "start": s.start_time_unix_nano,
                                    "end": s.end_time_unix_nano,
                                    "attributes": {a.key: _value(a.value) for a in s.attributes},
                                }
                            )
            return Response(status_code=200)

        self.app = Starlette(routes=[Route("/api/public/otel/v1/traces", traces, methods=["POST"])])


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def _run_with_export(live_api, servers, receiver_url: str, rate: float, n: int) -> None:
    settings = settings_for(
        database_url=live_api.database_url,
        redis_url=live_api.settings.redis_url.get_secret_value(),
        data_dir=servers.data_dir,
        langfuse_public_key="pk-test",
        langfuse_secret_key="sk-test-secret",
        langfuse_host=receiver_url,
        langfuse_sample_rate=rate,
    )
    with (
        ServerThread(create_app(settings, plugins=False)) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {live_api.setup.api_key}"}
        ) as client,
    ):
        for i in range(n):
            r = client.post(
                "/v1/tickets",
                json={
                    "source": "tests",
                    "external_id": uuid.uuid4().hex,
                    "body": f"my card payment was declined {i}",
                },
            )
            assert r.status_code == 201
    # leaving the server closes the runtime, which flushes the exporter


def test_each_ticket_leaves_as_one_trace_with_a_span_per_node(live_api, servers):
    receiver = OtlpReceiver()
    with ServerThread(receiver.app) as otlp:  # type: ignore[arg-type]
        _run_with_export(live_api, servers, otlp.url, rate=1.0, n=2)
    names = [s["name"] for s in receiver.spans]
    assert names.count("route_ticket") == 2
    roots = {s["span_id"]: s for s in receiver.spans if s["name"] == "route_ticket"}
    children = [s for s in receiver.spans if s["name"] != "route_ticket"]
    assert sorted({s["name"] for s in children}) == sorted(
        ["guard", "version", "embed", "retrieve", "gate", "classify", "decide", "record"]
    )
    assert all(c["parent"] in roots for c in children)
    assert all(c["trace_id"] == roots[c["parent"]]["trace_id"] for c in children)
    root = next(iter(roots.values()))
    assert root["attributes"]["langfuse.trace.name"] == "route_ticket"
    assert "declined" in root["attributes"]["langfuse.trace.input"]
    assert root["start"] < root["end"]
    retrieve = next(c for c in children if c["name"] == "retrieve")
    assert "neighbours" in retrieve["attributes"]["langfuse.observation.output"]
    expected = "Basic " + base64.b64encode(b"pk-test:sk-test-secret").decode()
    assert receiver.auth and all(a == expected for a in receiver.auth)


def test_a_zero_sample_rate_exports_nothing(live_api, servers):
    receiver = OtlpReceiver()
    with ServerThread(receiver.app) as otlp:  # type: ignore[arg-type]
        _run_with_export(live_api, servers, otlp.url, rate=0.0, n=2)
    assert receiver.spans == []


def test_sampling_keeps_about_the_rate_and_is_stable_per_trace():
    ids = [uuid.uuid4().hex for _ in range(4000)]
    kept = [i for i in ids if sampled(i, 0.25)]
    assert 0.22 < len(kept) / len(ids) < 0.28
    assert all(sampled(i, 0.25) for i in kept)
