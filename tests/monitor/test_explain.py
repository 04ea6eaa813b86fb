"""Explanations: new tickets far from history, clustered and named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from evals.bench.synthetic import topic_centres, topic_embeddings
from monitor.services import explain
from monitor.signals import WindowSample
from monitor.stats.evidence import Evidence, WhatMoved
from monitor.stats.samples import WindowData, traffic_window
from monitor.storage import repository
from tests.monitor.traffic import (
    CLASSES,
    NEW_WORDS,
    production_version,
    seed_history,
    seed_traffic,
    topics,
)

DAY = datetime(2026, 3, 1, tzinfo=UTC)


def test_kmeans_finds_well_separated_groups() -> None:
    rng = np.random.default_rng(0)
    centres = topic_centres(rng, 3)
    truth = np.repeat(np.arange(3), 40)
    x = topic_embeddings(rng, centres, truth, spread=0.5).astype(np.float64)
    labels = explain.kmeans(x, 3)
    for group in range(3):
        assert len(set(labels[truth == group])) == 1  # each group in one cluster
    assert len(set(labels)) == 3


def test_top_terms_are_what_sets_the_texts_apart() -> None:
    texts = ["my crypto wallet is frozen", "crypto wallet staking", "staking crypto rewards"]
    reference = ["my card is frozen", "where is my card", "card payment frozen"]
    terms = explain.top_terms(texts, reference)
    assert terms[:2] == ["crypto", "staking"] or terms[:2] == ["crypto", "wallet"]
    assert "frozen" not in terms and "the" not in explain.terms("the crypto")


def test_the_segment_that_moved_most_is_the_largest_change_in_share() -> None:
    empty = WindowSample()

    def window(queues: list[str], channels: list[str]) -> WindowData:
        return WindowData(empty, [], list(queues), ["P3"] * len(queues), channels, len(queues))

    reference = window(["cards"] * 5 + ["transfers"] * 5, ["web"] * 10)
    current = window(["cards"] * 9 + ["transfers"], ["web"] * 10)
    moved = explain.segment_moved_most(current, reference)
    assert moved is not None and moved["segment"] in ("queue:cards", "queue:transfers")
    assert abs(moved["change"]) == 0.4


def test_an_alerts_explanation_clusters_the_new_tickets_far_from_history(db: Session) -> None:
    t = topics()
    version = production_version(db)
    seed_history(db, t, n=400, recorded_at=DAY)
    start = DAY + timedelta(days=1)
    seed_traffic(db, t.window(1, 300), version_id=version.id, start=start, span=timedelta(hours=5))
    now = DAY + timedelta(days=2)
    seed_traffic(
        db,
        t.window(2, 150, new_share=0.4),
        version_id=version.id,
        start=now,
        span=timedelta(hours=1),
        new_from=90,
    )
    end = now + timedelta(hours=1)
    rows = repository.window_rows(db, start=now, end=end, segment="all", limit=1000)
    current = traffic_window(rows, CLASSES)
    ref_rows = repository.window_rows(
        db, start=start, end=start + timedelta(hours=5), segment="all", limit=1000
    )
    reference = traffic_window(ref_rows, CLASSES)
    moved = WhatMoved("new_content", "new content: tickets far from anything in history", {})
    evidence = Evidence(80.0, 1e-9, 20.0, 50.0, "critical", (), moved)
    out = explain.explain(
        db, current=current, reference=reference, evidence=evidence, window_start=now
    )
    assert 55 <= out["far_tickets"] <= 75  # the 60 new tickets, give or take the tails
    assert out["checked_tickets"] == 150 and out["far_cutoff"] > 0
    biggest = out["clusters"][0]
    assert biggest["size"] >= 15
    assert set(biggest["top_terms"]) <= set(NEW_WORDS) and len(biggest["top_terms"]) >= 3
    assert len(biggest["examples"]) == 3
    assert all(set(e.split()) <= set(NEW_WORDS) for e in biggest["examples"])
    assert sum(c["size"] for c in out["clusters"]) <= out["far_tickets"]
    assert out["what_moved"]["kind"] == "new_content"
    assert out["summary"].startswith(f"{out['far_tickets']} of 150 tickets lie far")
    assert out["segment_moved_most"]["segment"].split(":")[0] in ("queue", "priority", "channel")
