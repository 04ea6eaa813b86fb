"""A comparison's figures on a small constructed set, worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.rollout.figures import Decided, evidence, segment_figures
from agent.rollout.sequential import Evidence

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def d(ticket: str, seg: str, queue: str, routed: str | None = None, **kw: object) -> Decided:
    values: dict = {
        "ticket_id": ticket,
        "segment": seg,
        "queue": queue,
        "routed_to": routed or queue,
        "latency_ms": 10.0,
        "cost_usd": 0.0,
        "at": T0,
        **kw,
    }
    return Decided(**values)


# A shadow on four tickets: both versions share each ticket's truth (production was reviewed).
BASE = [
    d("t1", "channel:web", "A", truth_review="A", latency_ms=10, cost_usd=0.01),
    d("t2", "channel:web", "B", truth_review="C", latency_ms=20, cost_usd=0.01),
    d("t3", "channel:email", "A", "human_triage", truth_outcome="A", latency_ms=30),
    d("t4", "channel:email", "C", latency_ms=40),
]
SHADOW = [
    d("t1", "channel:web", "A", truth_review="A", latency_ms=100, cost_usd=0.02),
    d("t2", "channel:web", "C", truth_review="C", latency_ms=100, cost_usd=0.02),
    d("t3", "channel:email", "B", truth_outcome="A", latency_ms=100),
    d("t4", "channel:email", "C", latency_ms=200),
]


def test_a_shadows_figures_per_segment() -> None:
    every, email, web = segment_figures(BASE, SHADOW, same_tickets=True)
    assert (every.segment, email.segment, web.segment) == ("all", "channel:email", "channel:web")
    assert every.agreement is not None and (every.agreement.k, every.agreement.n) == (2, 4)
    assert every.agreement.low == pytest.approx(0.1500, abs=1e-4)
    b, c = every.baseline, every.candidate
    assert (b.reviewed_accuracy.k, b.reviewed_accuracy.n) == (1, 2)
    assert (c.reviewed_accuracy.k, c.reviewed_accuracy.n) == (2, 2)
    assert (b.outcome_accuracy.k, c.outcome_accuracy.k, c.outcome_accuracy.n) == (1, 0, 1)
    assert (b.escalation.k, c.escalation.k) == (1, 0)
    assert b.latency_p50_ms == 25.0 and b.latency_p95_ms == pytest.approx(38.5)
    assert c.latency_p50_ms == 100.0 and c.cost_total_usd == pytest.approx(0.04)
    assert b.cost_mean_usd == pytest.approx(0.005)
    assert web.agreement is not None and (web.agreement.k, web.agreement.n) == (1, 2)
    assert email.agreement is not None and (email.agreement.k, email.agreement.n) == (1, 2)


def test_a_shadows_evidence_counts_discordant_pairs_and_agreement() -> None:
    # t2: the shadow right, production wrong (better); t3: the reverse (worse)
    assert evidence(BASE, SHADOW, same_tickets=True) == Evidence(1, 1, 2, 4)


def test_a_canarys_labelled_decisions_are_paired_in_time_within_segments() -> None:
    at = [T0 + timedelta(minutes=m) for m in range(6)]
    base = [
        d("b1", "channel:web", "A", truth_review="A", at=at[0]),
        d("b2", "channel:web", "A", truth_review="A", at=at[2]),
        d("b3", "channel:web", "A", truth_review="B", at=at[4]),
        d("b4", "channel:web", "A", at=at[5]),  # unlabelled: not paired
    ]
    canary = [
        d("c1", "channel:web", "B", truth_outcome="A", at=at[1]),  # vs b1: worse
        d("c2", "channel:web", "A", truth_review="A", at=at[3]),  # vs b2: both right
        d("c3", "channel:email", "A", truth_review="B", at=at[3]),  # no email baseline
    ]
    assert evidence(base, canary, same_tickets=False) == Evidence(1, 0)
    every = segment_figures(base, canary, same_tickets=False)[0]
    assert every.agreement is None and (every.baseline.n, every.candidate.n) == (4, 3)
