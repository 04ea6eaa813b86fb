"""Seeding the database with traffic for the monitor's tests: synthetic windows as rows.

Synthetic windows (evals.bench.synthetic) give the arrays; this writes them as the tickets and
decisions the agent would have recorded, spread over a period, with texts made of each topic's
own words so explanations have terms to find.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from agent.models import AgentVersion, Decision, Outcome, Ticket, VersionLabel
from agent.taxonomy import HUMAN_TRIAGE, load_taxonomy
from evals.bench.synthetic import synthetic_window, topic_centres, topic_embeddings
from monitor.signals import WindowSample
from monitor.stats.samples import class_names
from tests.factories import make_agent_version, make_taxonomy

TAXONOMY = load_taxonomy("banking77")
QUEUES = TAXONOMY.queue_names
CLASSES = class_names(QUEUES)
K = len(CLASSES)
N_TOPICS = 30
WORDS = [f"w{t}x{i}" for t in range(N_TOPICS) for i in range(8)]
NEW_WORDS = ["crypto", "staking", "wallet", "token", "airdrop", "ledger", "mining", "coin"]


def production_version(db: Session) -> AgentVersion:
    """A knn version on the Banking77 taxonomy, labelled production."""
    taxonomy = make_taxonomy(db, definition=TAXONOMY.model_dump(mode="json"))
    version = make_agent_version(db, taxonomy_id=taxonomy.id, fallback_model="fallback/model")
    db.merge(VersionLabel(label="production", agent_version_id=version.id, updated_by="tests"))
    db.flush()
    return version


@dataclass(frozen=True)
class Topics:
    centres: np.ndarray
    new_centres: np.ndarray

    def window(self, seed: int, n: int, **kwargs: Any) -> WindowSample:
        kwargs.setdefault("new_centres", self.new_centres)
        return synthetic_window(
            np.random.default_rng(seed), n=n, centres=self.centres, n_classes=K, **kwargs
        )


def topics(seed: int = 1) -> Topics:
    rng = np.random.default_rng(seed)
    return Topics(topic_centres(rng, N_TOPICS), topic_centres(rng, 3))


# Ticket ids order the monitor's samples (monitor/repository.py hashes them), so random ids
# would change every threshold between runs on the same data: ids are derived from the call.
IDS = uuid.UUID("5b0c8f5e-0d7e-4c43-9a57-4f1f2e3d7a10")


def stable_ids(kind: str, key: str, n: int) -> list[uuid.UUID]:
    """``n`` ids that are the same in every run for the same ``kind`` and ``key``."""
    return [uuid.uuid5(IDS, f"{kind}/{key}/{i}") for i in range(n)]


def topic_text(rng: np.random.Generator, topic: int | None) -> str:
    """A few words of a topic's vocabulary (None: the new content's words)."""
    vocab = NEW_WORDS if topic is None else WORDS[topic * 8 : topic * 8 + 8]
    return " ".join(rng.choice(vocab, size=6))


def seed_traffic(
    db: Session,
    sample: WindowSample,
    *,
    version_id: uuid.UUID,
    start: datetime,
    span: timedelta,
    channels: Sequence[str] = ("web", "email"),
    new_from: int | None = None,
    seed: int = 0,
    tenants: Sequence[uuid.UUID | None] = (None,),
    stream: str = "production",
) -> list[uuid.UUID]:
    """Write the sample's tickets (received evenly over [start, start + span)) and decisions.

    Tickets at index >= ``new_from`` get the new content's words (synthetic_window puts its
    new-topic tickets last).
    """
    rng = np.random.default_rng(seed)
    n = sample.n
    ids = stable_ids("traffic", f"{start.isoformat()}/{span}/{seed}/{new_from}", n)
    tickets = [
        {
            "id": ids[i],
            "source": "tests",
            "external_id": ids[i].hex,
            "body": topic_text(rng, None if new_from is not None and i >= new_from else i % 30),
            "channel": channels[i % len(channels)],
            "tenant_id": tenants[i % len(tenants)],
            "received_at": start + span * (i / n),
            "embedding": sample.embeddings[i].tolist(),  # type: ignore[index]
        }
        for i in range(n)
    ]
    db.execute(insert(Ticket), tickets)
    rows = [_decision(sample, i, ids[i], version_id) | _stream(stream) for i in range(n)]
    db.execute(insert(Decision), rows)
    db.flush()
    return ids


def _decision(
    s: WindowSample, i: int, ticket_id: uuid.UUID, version_id: uuid.UUID
) -> dict[str, Any]:
    assert s.queue_probs is not None and s.predicted is not None and s.confidence is not None
    queue = CLASSES[int(s.predicted[i])]
    human = bool(s.is_human_triage[i]) if s.is_human_triage is not None else False
    return {
        "id": uuid.uuid5(IDS, f"decision/{ticket_id}"),
        "ticket_id": ticket_id,
        "agent_version_id": version_id,
        "queue": queue,
        "priority": ("P1", "P2", "P3", "P4")[i % 4],
        "routed_to": HUMAN_TRIAGE if human else queue,
        "mode": "low_confidence" if human else "agent",
        "confidence": float(s.confidence[i]),
        "queue_probs": {c: float(p) for c, p in zip(CLASSES, s.queue_probs[i], strict=True)},
        "priority_probs": {"P3": 1.0},
        "knn_consensus": _label(s.knn_consensus, i),
        "latency_ms": float(s.latency_ms[i]) if s.latency_ms is not None else 0.0,
        "cost_usd": float(s.cost_usd[i]) if s.cost_usd is not None else 0.0,
        "prompt_tokens": int(s.tokens[i]) if s.tokens is not None else 0,
        "error": "model failed" if s.is_error is not None and s.is_error[i] else None,
        "model": "fallback/model" if s.is_fallback is not None and s.is_fallback[i] else None,
        "inclusion_prob": float(s.inclusion_prob[i]) if s.inclusion_prob is not None else None,
    }


def _stream(stream: str) -> dict[str, Any]:
    shadow = stream == "shadow"
    return {"stream": stream, "is_shadow": shadow, "is_final": not shadow}


def _label(labels: np.ndarray | None, i: int) -> str | None:
    if labels is None or labels[i] < 0:
        return None
    return CLASSES[int(labels[i])]


def seed_history(
    db: Session, t: Topics, *, n: int, recorded_at: datetime, seed: int = 5
) -> list[uuid.UUID]:
    """Labelled history on the known topics (tickets with outcomes, source ``history``)."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(N_TOPICS, size=n)
    emb = topic_embeddings(rng, t.centres, topic)
    ids = stable_ids("history", f"{recorded_at.isoformat()}/{seed}/{n}", n)
    db.execute(
        insert(Ticket),
        [
            {
                "id": ids[i],
                "source": "history:tests",
                "external_id": ids[i].hex,
                "body": topic_text(rng, int(topic[i])),
                "channel": "web",
                "received_at": recorded_at,
                "embedding": emb[i].tolist(),
            }
            for i in range(n)
        ],
    )
    db.execute(
        insert(Outcome),
        [
            {
                "ticket_id": ids[i],
                "queue": QUEUES[int(topic[i]) % 10],
                "priority": "P3",
                "source": "history",
                "recorded_at": recorded_at,
                "embedding": emb[i].tolist(),
            }
            for i in range(n)
        ],
    )
    db.flush()
    return ids


def seed_labels(
    db: Session,
    sample: WindowSample,
    ids: Sequence[uuid.UUID],
    *,
    labelled: Sequence[int],
    wrong: Sequence[int],
    recorded_at: datetime,
    source: str = "helpdesk",
) -> None:
    """Final routes for the tickets at ``labelled``: the agent's own route, except at ``wrong``
    (the next queue), as a helpdesk outcome (or a reviewer's, ``source="override"``)."""
    assert sample.predicted is not None
    wrong_set = set(wrong)
    rows = []
    for i in labelled:
        predicted = int(sample.predicted[i])
        queue = QUEUES[(predicted + 1) % len(QUEUES)] if i in wrong_set else CLASSES[predicted]
        rows.append(
            {
                "ticket_id": ids[i],
                "queue": queue,
                "priority": "P3",
                "source": source,
                "recorded_at": recorded_at,
            }
        )
    db.execute(insert(Outcome), rows)
    db.flush()
