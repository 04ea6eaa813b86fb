"""Factories for test rows: one place that knows what a valid row looks like."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from agent.config import DEFAULT_EMBEDDING_MODEL
from agent.datasets.records import LabelledTicket, shuffled
from agent.models import (
    EMBEDDING_DIM,
    AgentVersion,
    Alert,
    AuditEntry,
    Decision,
    SignalValue,
    TaxonomyRecord,
    Tenant,
    Ticket,
)
from agent.version_context import VersionContent


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
    values = {
        "semver": f"0.0.{uuid.uuid4().int % 10**9}",
        "classifier": "knn",
        "taxonomy_id": taxonomy_id,
        "author": "tests",
        "rationale": "test version",
        "model": None,
        "fallback_model": None,
        "prompt_template": "",
        "params": {},
        "thresholds": {},
        "embedding_model": DEFAULT_EMBEDDING_MODEL,
        **overrides,
    }
    taxonomy = db.get(TaxonomyRecord, values["taxonomy_id"])
    assert taxonomy is not None
    content = VersionContent(
        **{k: values[k] for k in VersionContent.__dataclass_fields__ if k != "taxonomy_hash"},
        taxonomy_hash=taxonomy.content_hash,
    )
    values.setdefault("content_hash", content.content_hash())
    row = AgentVersion(**values)
    db.add(row)
    db.flush()
    return row


def make_tenant(db: Session, **overrides: Any) -> Tenant:
    key = uuid.uuid4().hex
    row = Tenant(
        **{
            "name": f"tenant-{key[:8]}",
            "api_key_hash": key + key,
            "api_key_prefix": key[:8],
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
            "stream": "shadow" if overrides.get("is_shadow") else "production",
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


def make_signal_value(db: Session, **overrides: Any) -> SignalValue:
    end = overrides.pop("window_end", None) or datetime.now(UTC)
    size = overrides.pop("window_size_s", 3600)
    row = SignalValue(
        **{
            "window_size_s": size,
            "window_start": end - timedelta(seconds=size),
            "window_end": end,
            "segment": "all",
            "signal": "entropy_mean",
            "value": 0.4,
            "threshold": 0.6,
            "p_value": 0.5,
            "n": 200,
            "n_reference": 2000,
            "drifted": False,
            "insufficient": False,
            "details": {},
            **overrides,
        }
    )
    db.add(row)
    db.flush()
    return row


def make_alert(db: Session, **overrides: Any) -> Alert:
    now = datetime.now(UTC)
    row = Alert(
        **{
            "rule": "evidence_score",
            "segment": "all",
            "window_size_s": 3600,
            "status": "open",
            "severity": "critical",
            "score": 4.2,
            "threshold": 3.0,
            "opened_at": now,
            "updated_at": now,
            "last_window_end": now,
            "evidence": {"signals": {"embedding_mmd": 0.031}},
            "explanation": {"clusters": []},
            "actions": {},
            **overrides,
        }
    )
    db.add(row)
    db.flush()
    return row


def stratified(records: Sequence[LabelledTicket], per_queue: int) -> list[LabelledTicket]:
    """``per_queue`` tickets of each queue, drawn across all its intents (the file is sorted);
    seeded, so every test's history is the same sample."""
    taken: dict[str, int] = {}
    out = []
    for r in shuffled(records, seed=7):
        if taken.get(r.queue, 0) < per_queue:
            taken[r.queue] = taken.get(r.queue, 0) + 1
            out.append(r)
    return out
