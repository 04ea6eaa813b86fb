"""Window extraction against the real database: which decisions a window holds, and as what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session

from agent.models import Outcome, Review, Ticket, User
from agent.services.portal import slug_of
from monitor.stats.samples import history_window, traffic_window
from monitor.storage import repository
from tests.factories import make_decision, make_tenant, make_ticket, random_embedding
from tests.monitor.traffic import CLASSES, production_version

START = datetime(2026, 3, 1, 10, tzinfo=UTC)
END = START + timedelta(hours=1)
UNKNOWN = len(CLASSES) - 1


def ticket(db: Session, *, at: datetime = START, channel: str = "web", **kw: object):
    return make_ticket(
        db,
        received_at=at,
        channel=channel,
        embedding=random_embedding(np.random.default_rng()),
        **kw,
    )


def decide(db: Session, version_id: uuid.UUID, **kw: object):
    t = kw.pop("ticket", None) or ticket(db)
    values = {
        "agent_version_id": version_id,
        "queue": "card_orders",
        "priority": "P2",
        "routed_to": "card_orders",
        "queue_probs": {"card_orders": 0.8, "transfers": 0.2},
    }
    return make_decision(db, t, **{**values, **kw})


def rows(db: Session, segment: str = "all", limit: int = 1000):
    return repository.window_rows(db, start=START, end=END, segment=segment, limit=limit)


@pytest.fixture
def version_id(db: Session) -> uuid.UUID:
    return production_version(db).id


def test_a_window_holds_the_final_agent_decisions_received_in_it(db, version_id) -> None:
    inside = decide(db, version_id, ticket=ticket(db, at=START))
    decide(db, version_id, ticket=ticket(db, at=END))  # the end is the next window's
    decide(db, version_id, ticket=ticket(db, at=START - timedelta(seconds=1)))
    decide(db, version_id, is_shadow=True, is_final=False)
    decide(db, version_id, is_final=False)
    make_decision(
        db,
        ticket(db),
        agent_version_id=None,
        mode="kill_switch",
        queue=None,
        routed_to="human_triage",
        queue_probs={},
    )  # a global switch: no version ran
    make_ticket(db, received_at=START)  # no embedding, no decision: never routed yet
    found = rows(db)
    assert [r.ticket_id for r in found] == [inside.ticket_id]
    assert found[0].n_total == 1


def test_canary_and_shadow_decisions_are_windows_of_their_own(db, version_id) -> None:
    served = decide(db, version_id, ticket=ticket(db, at=START))
    canary = decide(db, version_id, ticket=ticket(db, at=START), stream="canary")
    served_ticket = db.get(Ticket, served.ticket_id)
    decide(db, version_id, ticket=served_ticket, is_shadow=True, is_final=False)
    assert [r.ticket_id for r in rows(db)] == [served.ticket_id]
    assert [r.ticket_id for r in rows(db, "queue:card_orders")] == [served.ticket_id]
    assert [r.ticket_id for r in rows(db, "version:canary")] == [canary.ticket_id]
    assert [r.ticket_id for r in rows(db, "version:shadow")] == [served.ticket_id]
    assert repository.streams_seen(db, start=START, end=END) == ["canary", "shadow"]
    assert repository.segments_seen(db, start=START, end=END) == [("card_orders", "P2", "web", "")]


def test_decisions_become_the_signals_arrays(db, version_id) -> None:
    reviewer = User(username=f"r-{uuid.uuid4().hex[:6]}", password_hash="x", role="reviewer")
    db.add(reviewer)
    confident = decide(
        db,
        version_id,
        confidence=0.8,
        knn_consensus="transfers",
        latency_ms=120.0,
        cost_usd=0.002,
        prompt_tokens=300,
        completion_tokens=20,
        model="fallback/model",
    )
    failed = decide(
        db,
        version_id,
        queue=None,
        queue_probs={},
        routed_to="human_triage",
        mode="fallback",
        error="timeout",
        confidence=None,
        inclusion_prob=1.0,
    )
    switched = decide(db, version_id, routed_to="human_triage", mode="kill_switch")
    db.flush()
    db.add(
        Review(
            decision_id=confident.id,
            ticket_id=confident.ticket_id,
            reviewer_id=reviewer.id,
            verdict="overridden",
            inclusion_prob=0.05,
            needs_review=False,
            queue_correct=False,
            priority_correct=True,
        )
    )
    db.add(
        Outcome(ticket_id=confident.ticket_id, queue="transfers", priority="P2", source="helpdesk")
    )
    db.flush()
    data = traffic_window(rows(db), CLASSES)
    by_id = {tid: i for i, tid in enumerate(data.ticket_ids)}
    s = data.sample
    c, f, k = by_id[confident.ticket_id], by_id[failed.ticket_id], by_id[switched.ticket_id]
    assert s.queue_probs is not None and s.queue_probs.shape == (3, len(CLASSES))
    assert s.queue_probs[c, CLASSES.index("card_orders")] == pytest.approx(0.8)
    np.testing.assert_allclose(s.queue_probs[f], 1 / len(CLASSES))  # a failed call: uniform
    assert s.predicted is not None and s.predicted[c] == 0 and s.predicted[f] == UNKNOWN
    assert s.is_unknown is not None and s.is_unknown.tolist() == [i == f for i in range(3)]
    assert s.is_human_triage is not None
    assert s.is_human_triage[f] and not s.is_human_triage[k]  # the switch is not the agent's
    assert s.is_error is not None and s.is_error[f] and not s.is_error[c]
    assert s.is_fallback is not None and s.is_fallback[c] and not s.is_fallback[f]
    assert s.knn_consensus is not None and s.knn_consensus[c] == CLASSES.index("transfers")
    assert s.knn_consensus[f] == -1
    assert s.reviewed is not None and s.overridden is not None and s.inclusion_prob is not None
    assert s.reviewed[c] and s.overridden[c] and s.inclusion_prob[c] == pytest.approx(0.05)
    assert not s.reviewed[f] and s.inclusion_prob[f] == 1.0
    assert s.true_label is not None and s.true_label[c] == CLASSES.index("transfers")
    assert s.true_label[f] == -1
    assert s.confidence is not None and s.confidence[f] == pytest.approx(1 / len(CLASSES))
    assert s.latency_ms is not None and s.latency_ms[c] == 120.0
    assert s.cost_usd is not None and s.cost_usd[c] == pytest.approx(0.002)
    assert s.tokens is not None and s.tokens[c] == 320
    assert s.embeddings is not None and s.embeddings.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(s.embeddings, axis=1), 1.0, rtol=1e-5)


def test_segments_filter_on_predicted_queue_priority_and_channel(db, version_id) -> None:
    a = decide(db, version_id, ticket=ticket(db, channel="email"), queue="transfers", priority="P1")
    b = decide(db, version_id, ticket=ticket(db, channel="web"), queue="card_orders", priority="P1")
    assert [r.ticket_id for r in rows(db, "queue:transfers")] == [a.ticket_id]
    assert [r.ticket_id for r in rows(db, "channel:web")] == [b.ticket_id]
    assert {r.ticket_id for r in rows(db, "priority:P1")} == {a.ticket_id, b.ticket_id}
    assert rows(db, "priority:P4") == []
    seen = set(repository.segments_seen(db, start=START, end=END))
    assert seen == {("transfers", "P1", "email", ""), ("card_orders", "P1", "web", "")}


def test_a_tenant_segment_is_the_tenants_slug_or_else_its_name_as_a_slug(db, version_id) -> None:
    acme = make_tenant(db, name="Acme", slug="acme-support")
    bravo = make_tenant(db, name="  Bravo Bank, Ltd.  ")  # no portal: no slug of its own
    a = decide(db, version_id, ticket=ticket(db, tenant_id=acme.id))
    b = decide(db, version_id, ticket=ticket(db, tenant_id=bravo.id))
    nobody = decide(db, version_id)
    assert [r.ticket_id for r in rows(db, "tenant:acme-support")] == [a.ticket_id]
    assert [r.ticket_id for r in rows(db, "tenant:bravo-bank-ltd")] == [b.ticket_id]
    assert rows(db, "tenant:acme") == []  # the name is not looked at once there is a slug
    by_id = {r.ticket_id: r.tenant for r in rows(db)}
    assert by_id == {
        a.ticket_id: "acme-support",
        b.ticket_id: "bravo-bank-ltd",
        nobody.ticket_id: None,
    }
    assert slug_of(bravo.name) == "bravo-bank-ltd"  # the same slug the portal would give it
    tenants = {s[3] for s in repository.segments_seen(db, start=START, end=END)}
    assert tenants == {"acme-support", "bravo-bank-ltd", ""}


def test_a_large_window_is_a_deterministic_sample_with_its_total(db, version_id) -> None:
    for _ in range(12):
        decide(db, version_id)
    first, again = rows(db, limit=5), rows(db, limit=5)
    assert len(first) == 5 and first[0].n_total == 12
    assert [r.ticket_id for r in first] == [r.ticket_id for r in again]


def test_a_traffic_reference_reads_one_versions_decisions(db, version_id) -> None:
    other = production_version(db).id  # a second version (its label replaced the first's)
    mine = decide(db, version_id)
    decide(db, other)
    found = repository.window_rows(
        db, start=START, end=END, segment="all", limit=10, version_id=version_id
    )
    assert [r.ticket_id for r in found] == [mine.ticket_id]
    count = repository.count_decisions(db, version_id=version_id, start=START, end=END)
    assert count == 1


def test_history_rows_are_labelled_tickets_segmented_by_their_outcome(db) -> None:
    for queue in ("transfers", "transfers", "card_orders"):
        t = ticket(db, source="history:tests")
        db.add(
            Outcome(
                ticket_id=t.id,
                queue=queue,
                priority="P3",
                source="history",
                recorded_at=START,
                embedding=t.embedding,
            )
        )
    helpdesk = ticket(db)
    db.add(
        Outcome(
            ticket_id=helpdesk.id,
            queue="transfers",
            priority="P3",
            source="helpdesk",
            recorded_at=START,
            embedding=helpdesk.embedding,
        )
    )
    db.flush()
    found = repository.history_rows(db, end=END, segment="queue:transfers", limit=10)
    assert len(found) == 2 and {r.queue for r in found} == {"transfers"}
    assert repository.history_rows(db, end=START, segment="all", limit=10) == []
    data = history_window(repository.history_rows(db, end=END, segment="all", limit=10), CLASSES)
    assert data.n == 3 and data.sample.queue_probs is None  # content only
    assert data.segment_counts()["queue:transfers"] == 2
