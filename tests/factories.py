"""Factories for test rows: one place that knows what a valid row looks like."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from agent.models import (
    EMBEDDING_DIM,
    AgentVersion,
    AuditEntry,
    Decision,
    TaxonomyRecord,
    Ticket,
)


def random_embedding(rng: np.random.Generator | None = None) -> list[float]:
    rng = rng or np.random.default_rng()
    v = rng.standard_normal(EMBEDDING_DIM).astype(np.float32)
    return (v / np.linalg.norm(v)).tolist()


def make_taxonomy(db: Session, **overrides: Any) -> TaxonomyRecord:
    suffix = uuid.uuid4().hex[:8]
    row = TaxonomyRecord(
        **{
            "name": f"test-{suffix}",
            "version": "1",
            "content_hash": suffix,
            "definition": {"queues": []},
            **overrides,
        }
    )
    db.add(row)
    db.flush()
    return row


def make_agent_version(db: Session, **overrides: Any) -> AgentVersion:
    taxonomy_id = overrides.pop("taxonomy_id", None) or make_taxonomy(db).id
    row = AgentVersion(
        **{
            "semver": f"0.0.{uuid.uuid4().int % 10**9}",
            "classifier": "knn",
            "taxonomy_id": taxonomy_id,
            "author": "tests",
            "rationale": "test version",
            **overrides,
        }
    )
    db.add(row)
    db.flush()
    return row


def make_ticket(db: Session, **overrides: Any) -> Ticket:
    row = Ticket(
        **{
            "source": "tests",
            "external_id": uuid.uuid4().hex,
            "subject": "",
            "body": "My card has not arrived yet",
            "channel": "web",
            "received_at": datetime.now(UTC),
            **overrides,
        }
    )
    db.add(row)
    db.flush()
    return row


def make_decision(db: Session, ticket: Ticket | None = None, **overrides: Any) -> Decision:
    ticket = ticket or make_ticket(db)
    row = Decision(
        **{
            "ticket_id": ticket.id,
            "queue": "cards",
            "priority": "P3",
            "routed_to": "cards",
            "mode": "agent",
            "confidence": 0.9,
            "queue_probs": {"cards": 0.9, "unknown": 0.1},
            "priority_probs": {"P3": 1.0},
            **overrides,
        }
    )
    db.add(row)
    db.flush()
    return row


def make_audit_entry(db: Session, **overrides: Any) -> AuditEntry:
    row = AuditEntry(
        **{"actor": "tests", "actor_role": "operator", "action": "test.action", **overrides}
    )
    db.add(row)
    db.flush()
    return row
