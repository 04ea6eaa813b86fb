"""Writing a graph run: decision, embedding and one span per node, in one statement."""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool

from agent.graph.state import Recorded, RouteState, SpanRecord
from agent.repositories import decisions

log = logging.getLogger(__name__)


def decision_values(state: RouteState, *, latency_ms: float) -> dict[str, Any]:
    draft = state["decision"]
    assert draft is not None
    c = state.get("classification")
    version = state.get("version")
    return {
        "id": uuid.uuid4(),
        "ticket_id": uuid.UUID(state["ticket"].ticket_id),
        "agent_version_id": uuid.UUID(version.id) if version else None,
        "queue": draft.queue,
        "priority": draft.priority,
        "routed_to": draft.routed_to,
        "mode": draft.mode,
        "needs_review": draft.needs_review,
        "confidence": draft.confidence,
        "margin": draft.margin,
        "entropy": draft.entropy,
        "knn_agreement": draft.knn_agreement,
        "knn_consensus": draft.knn_consensus,
        "reason": draft.reason,
        "error": state.get("failure") or (c.error if c else None),
        "sampled_for_review": draft.sampled_for_review,
        "inclusion_prob": draft.inclusion_prob,
        "queue_probs": c.queue_probs if c and not c.error else {},
        "priority_probs": c.priority_probs if c and not c.error else {},
        "classifier": c.classifier if c else (version.classifier if version else None),
        "model": c.model if c else None,
        "prompt_tokens": c.prompt_tokens if c else 0,
        "completion_tokens": c.completion_tokens if c else 0,
        "cost_usd": Decimal(str(round(c.cost_usd, 6))) if c else Decimal(0),
        "latency_ms": latency_ms,
        "stream": version.label if version and version.label == "canary" else "production",
    }


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def span_json(span: SpanRecord) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "name": span.name,
        "started_at": span.started_at.isoformat(),
        "duration_ms": span.duration_ms,
        "input": span.input,
        "output": span.output,
        "error": span.error,
        "attributes": span.attributes,
    }


class PostgresRecorder:
    """Implements the graph's ``DecisionRecorder``: one atomic statement per decision."""

    def __init__(self, pool: AsyncConnectionPool, embedding_model: str) -> None:
        self._pool = pool
        self._embedding_model = embedding_model

    async def record(self, state: RouteState) -> Recorded:
        started, t0 = datetime.now(UTC), time.perf_counter()
        spans = state.get("spans", [])
        first = min((s.started_at for s in spans), default=started)
        values = decision_values(state, latency_ms=(started - first).total_seconds() * 1000)
        ticket_id = values["ticket_id"]
        record_span = SpanRecord(
            name="record",
            span_id=secrets.token_hex(8),
            started_at=started,
            duration_ms=(time.perf_counter() - t0) * 1000,
            input={"spans": len(spans) + 1},
            output={"decision_id": str(values["id"])},
        )
        async with self._pool.connection() as conn:
            written = await decisions.record(
                conn,
                decision=values,
                spans=[span_json(s) for s in [*spans, record_span]],
                trace_id=state["trace_id"],
                embedding=state.get("embedding"),
                embedding_model=self._embedding_model,
                reservation_id=_uuid(state.get("reservation_id")),
            )
            if written is not None:
                row = {**values, "is_final": True, "is_shadow": False, "created_at": started}
                return Recorded(row, record_span)
            existing = await decisions.final_row(conn, ticket_id)
        assert existing is not None
        log.info("ticket %s already had a final decision; kept it", ticket_id)
        return Recorded(existing, record_span)
