"""Tickets, the agent's decisions with their trace spans, and what humans said."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from agent.models.base import EMBEDDING_DIM, Base, column_names, created_at, tstz, uuid_pk

OUTCOME_SOURCES = ("history", "helpdesk", "override")
OVERRIDE_REASONS = (
    "wrong_queue",
    "wrong_priority",
    "wrong_both",
    "new_product",
    "policy_change",
    "ambiguous_ticket",
    "spam_or_abuse",
    "other",
)


class Ticket(Base):
    """A submitted ticket. Stored before any model call, so it cannot be lost.

    ``(tenant_id, source, external_id)`` identifies it: two tenants may use the same pair, and
    history loaded without a tenant (``tenant_id`` NULL) is deduplicated too (NULLS NOT DISTINCT).
    """

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "external_id", postgresql_nulls_not_distinct=True),
        Index("ix_tickets_received_at", "received_at"),
        Index(
            "ix_tickets_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(default="")
    body: Mapped[str]
    customer_id: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(50), default="web")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    received_at: Mapped[datetime] = tstz()
    created_at: Mapped[datetime] = created_at()
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIM))
    embedding_model: Mapped[str | None] = mapped_column(String(200))


class Decision(Base):
    """A routing decision. At most one final decision per ticket (a partial unique index)."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index(
            "uq_decisions_one_final_per_ticket",
            "ticket_id",
            unique=True,
            postgresql_where=text("is_final"),
        ),
        Index("ix_decisions_created_at", "created_at"),
        Index("ix_decisions_agent_version_id", "agent_version_id"),
        # The review queue: flagged decisions first, then the sampled ones, newest first.
        Index(
            "ix_decisions_review_queue",
            "needs_review",
            "created_at",
            "id",
            postgresql_where=text("is_final AND sampled_for_review"),
        ),
        # A shadow run writes one decision per (ticket, version); its task may run again.
        Index(
            "uq_decisions_one_shadow_per_ticket_version",
            "ticket_id",
            "agent_version_id",
            unique=True,
            postgresql_where=text("is_shadow"),
        ),
        CheckConstraint(
            "stream IN ('production', 'canary', 'shadow') AND is_shadow = (stream = 'shadow') "
            "AND NOT (is_shadow AND is_final)",
            name="stream",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    agent_version_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agent_versions.id"))
    is_final: Mapped[bool] = mapped_column(default=True)
    is_shadow: Mapped[bool] = mapped_column(default=False)
    # The label that served it: production, canary (sticky share) or shadow (never served).
    stream: Mapped[str] = mapped_column(
        String(16), default="production", server_default="production"
    )
    queue: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str | None] = mapped_column(String(10))
    routed_to: Mapped[str] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(30))
    needs_review: Mapped[bool] = mapped_column(default=False)
    confidence: Mapped[float | None] = mapped_column(Float)
    queue_probs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority_probs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    entropy: Mapped[float | None] = mapped_column(Float)
    margin: Mapped[float | None] = mapped_column(Float)
    knn_agreement: Mapped[float | None] = mapped_column(Float)
    knn_consensus: Mapped[str | None] = mapped_column(String(100))
    classifier: Mapped[str | None] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str | None]
    error: Mapped[str | None]
    sampled_for_review: Mapped[bool] = mapped_column(default=False)
    inclusion_prob: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = created_at()


# A ticket as the per-ticket path reads it: every column but the vector (never read back there).
TICKET_COLUMNS = column_names(Ticket, without=("embedding", "embedding_model"))
# What a submission writes: the same less what the database sets.
TICKET_INSERT_COLUMNS = tuple(c for c in TICKET_COLUMNS if c != "created_at")
DECISION_COLUMNS = column_names(Decision)


class TraceSpan(Base):
    """One graph node's run: input, output, timing, error. Written with its decision."""

    __tablename__ = "trace_spans"
    __table_args__ = (Index("ix_trace_spans_ticket_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    decision_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), index=True
    )
    trace_id: Mapped[str] = mapped_column(String(32))
    span_id: Mapped[str] = mapped_column(String(16))
    parent_span_id: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = tstz()
    duration_ms: Mapped[float] = mapped_column(Float)
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None]
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Outcome(Base):
    """The final route a ticket ended with: the history the agent and the monitor learn from.

    It carries a copy of its ticket's embedding with an HNSW index of its own, so retrieving the
    nearest tickets *with known outcomes* is one index scan with no filter, however few of all
    tickets have outcomes yet.
    """

    __tablename__ = "outcomes"
    __table_args__ = (
        CheckConstraint(f"source IN {OUTCOME_SOURCES!r}", name="source"),
        Index("ix_outcomes_recorded_at", "recorded_at"),
        Index(
            "ix_outcomes_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    queue: Mapped[str] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = created_at()
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIM))


class RelabelledOutcome(Base):
    """A ticket's final route under a later taxonomy version (``taxonomy migrate``).

    Append-only: the ticket's row in ``outcomes`` stays as it was for versions on the old
    taxonomy; versions on ``taxonomy_id`` read these rows instead. ``from_queue`` and
    ``from_priority`` are the route it was relabelled from, ``rule`` the mapping's rule.
    """

    __tablename__ = "relabelled_outcomes"
    __table_args__ = (
        Index(
            "ix_relabelled_outcomes_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    taxonomy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("taxonomies.id"), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    migration_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("taxonomy_migrations.id"))
    queue: Mapped[str] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(10))
    from_queue: Mapped[str | None] = mapped_column(String(100))
    from_priority: Mapped[str | None] = mapped_column(String(10))
    rule: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = tstz()
    relabelled_at: Mapped[datetime] = created_at()
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIM))


class Override(Base):
    """A reviewer's correction of a decision."""

    __tablename__ = "overrides"
    __table_args__ = (
        CheckConstraint(f"reason_category IN {OVERRIDE_REASONS!r}", name="reason_category"),
        Index("ix_overrides_created_at", "created_at"),
        Index("ix_overrides_ticket_id", "ticket_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    old_queue: Mapped[str | None] = mapped_column(String(100))
    old_priority: Mapped[str | None] = mapped_column(String(10))
    new_queue: Mapped[str] = mapped_column(String(100))
    new_priority: Mapped[str] = mapped_column(String(10))
    reason_category: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime] = created_at()
