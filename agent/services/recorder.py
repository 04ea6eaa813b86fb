"""Writing a graph run: decision, embedding and one span per node, in one transaction."""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.graph.state import RouteState, SpanRecord
from agent.repositories import decisions, tickets

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
    }


def span_row(
    span: SpanRecord, *, ticket_id: uuid.UUID, decision_id: uuid.UUID | None, trace_id: str
) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "decision_id": decision_id,
        "trace_id": trace_id,
        "span_id": span.span_id,
        "parent_span_id": None,
        "name": span.name,
        "started_at": span.started_at,
        "duration_ms": span.duration_ms,
        "input": span.input,
        "output": span.output,
        "error": span.error,
        "attributes": span.attributes,
    }


class PostgresRecorder:
    """Implements the graph's ``DecisionRecorder`` on Postgres."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], embedding_model: str) -> None:
        self._sessions = sessions
        self._embedding_model = embedding_model

    async def record(self, state: RouteState) -> str:
        started, t0 = datetime.now(UTC), time.perf_counter()
        spans = state.get("spans", [])
        first = min((s.started_at for s in spans), default=started)
        latency_ms = (started - first).total_seconds() * 1000
        ticket_id = uuid.UUID(state["ticket"].ticket_id)
        values = decision_values(state, latency_ms=latency_ms)
        async with self._sessions() as session, session.begin():
            embedding = state.get("embedding")
            if embedding is not None:
                await tickets.set_embedding(session, ticket_id, embedding, self._embedding_model)
            decision_id = await decisions.insert_final(session, values)
            if decision_id is None:
                existing = await decisions.final_for(session, ticket_id)
                assert existing is not None
                log.info("ticket %s already had a final decision; kept it", ticket_id)
                return str(existing.id)
            record_span = SpanRecord(
                name="record",
                span_id=secrets.token_hex(8),
                started_at=started,
                duration_ms=(time.perf_counter() - t0) * 1000,
                input={"spans": len(spans) + 1},
                output={"decision_id": str(decision_id)},
            )
            await decisions.insert_spans(
                session,
                [
                    span_row(
                        s, ticket_id=ticket_id, decision_id=decision_id, trace_id=state["trace_id"]
                    )
                    for s in [*spans, record_span]
                ],
            )
        return str(decision_id)
