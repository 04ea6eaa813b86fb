"""Exporting each routed ticket's trace to Langfuse (when ``LANGFUSE_*`` is configured).

Postgres always keeps the full trace. The export re-emits the spans the graph recorded as
OpenTelemetry spans with their real start and end times, under one root span per ticket, with
Langfuse's attribute conventions (the ``classify`` span becomes a generation with model, usage
and cost), through the Langfuse SDK's span processor. A sampling rate keeps a deterministic
share of traces (by trace id). Export never blocks or fails a request.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Status, StatusCode

from agent.config import Settings
from agent.graph.state import RouteState, SpanRecord
from agent.logs import mask_secrets

log = logging.getLogger(__name__)
SCOPE = "ticketwatch"


class TraceExport(Protocol):
    def export(self, state: RouteState, decision: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class NoExport:
    def export(self, state: RouteState, decision: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None


def sampled(trace_id: str, rate: float) -> bool:
    """Keep a stable ``rate`` share of traces: the same trace is always kept or always not."""
    if rate >= 1:
        return True
    bucket = int.from_bytes(hashlib.sha256(trace_id.encode()).digest()[:8], "big") / 2**64
    return bucket < rate


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1e9)


def _json(value: Any) -> str:
    return mask_secrets(json.dumps(value, default=str))


class LangfuseExport:
    """Sends traces to Langfuse; ``span_exporter`` replaces the OTLP exporter (tests)."""

    def __init__(self, settings: Settings, *, span_exporter: SpanExporter | None = None) -> None:
        from langfuse import Langfuse
        from langfuse.span_filter import is_default_export_span

        self.sample_rate = settings.langfuse_sample_rate
        self.provider = TracerProvider(resource=Resource.create({"service.name": "ticketwatch"}))

        def keep(span: ReadableSpan) -> bool:
            scope = span.instrumentation_scope
            return (scope is not None and scope.name == SCOPE) or is_default_export_span(span)

        self.client = Langfuse(
            public_key=settings.langfuse_public_key,
            secret_key=settings.langfuse_secret_key.get_secret_value()
            if settings.langfuse_secret_key
            else None,
            host=settings.langfuse_host,
            tracer_provider=self.provider,
            span_exporter=span_exporter,
            should_export_span=keep,
            environment=settings.langfuse_environment,
        )
        self.tracer = self.provider.get_tracer(SCOPE)

    def export(self, state: RouteState, decision: dict[str, Any]) -> None:
        try:
            if sampled(state["trace_id"], self.sample_rate):
                self._emit(state, decision)
        except Exception as exc:  # noqa: BLE001 - tracing must never affect routing
            log.warning("trace export failed: %s", exc)

    def _emit(self, state: RouteState, decision: dict[str, Any]) -> None:
        spans = state.get("spans", [])
        if not spans:
            return
        start = min(s.started_at for s in spans)
        end = max(s.started_at + timedelta(milliseconds=s.duration_ms) for s in spans)
        ticket = state["ticket"]
        version = state.get("version")
        root = self.tracer.start_span(
            "route_ticket",
            start_time=_ns(start),
            attributes={
                "langfuse.trace.name": "route_ticket",
                "langfuse.trace.input": _json({"text": ticket.text, "channel": ticket.channel}),
                "langfuse.trace.output": _json(
                    {
                        k: decision.get(k)
                        for k in ("routed_to", "queue", "priority", "mode", "confidence", "reason")
                    }
                ),
                "langfuse.trace.metadata.ticket_id": ticket.ticket_id,
                "langfuse.trace.metadata.version": version.semver if version else "",
                "langfuse.trace.tags": [str(decision.get("mode")), str(decision.get("routed_to"))],
                "ticketwatch.trace_id": state["trace_id"],
            },
        )
        from opentelemetry import trace

        context = trace.set_span_in_context(root)
        for record in spans:
            self._emit_node(record, context, decision)
        root.end(end_time=_ns(end))

    def _emit_node(self, record: SpanRecord, context: Any, decision: dict[str, Any]) -> None:
        attributes: dict[str, Any] = {
            "langfuse.observation.input": _json(record.input),
            "langfuse.observation.output": _json(record.output),
        }
        if record.name == "classify" and decision.get("model"):
            attributes |= {
                "langfuse.observation.type": "generation",
                "langfuse.observation.model.name": str(decision["model"]),
                "langfuse.observation.usage_details": json.dumps(
                    {
                        "input": int(decision.get("prompt_tokens") or 0),
                        "output": int(decision.get("completion_tokens") or 0),
                    }
                ),
                "langfuse.observation.cost_details": json.dumps(
                    {"total": float(decision.get("cost_usd") or 0)}
                ),
            }
        span = self.tracer.start_span(
            record.name, context=context, start_time=_ns(record.started_at), attributes=attributes
        )
        if record.error:
            span.set_status(Status(StatusCode.ERROR, mask_secrets(record.error)))
            span.set_attribute("langfuse.observation.level", "ERROR")
        end = record.started_at + timedelta(milliseconds=record.duration_ms)
        span.end(end_time=_ns(end))

    def close(self) -> None:
        self.client.flush()
        self.provider.shutdown()


def trace_export(settings: Settings) -> TraceExport:
    """Langfuse when its keys are configured, else nothing (Postgres keeps every trace)."""
    if settings.langfuse_public_key and settings.langfuse_secret_key:
        return LangfuseExport(settings)
    return NoExport()
