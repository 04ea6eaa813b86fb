"""``tenant:<slug>`` segments through the monitor's service (real database): computed for the
tenants a window holds, judged against their own slice of the reference, and each given its
share of the deployment's false-alarm budget by its volume in the reference."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from agent.config import Settings
from agent.services.operators import Actor
from monitor.services import compute, streams
from monitor.stats.budget import REFERENCE_TAIL_SHARE, SEQUENTIAL_SHARE
from monitor.stats.samples import traffic_window
from monitor.storage import references, repository
from tests.factories import make_tenant
from tests.monitor.test_service import DAY, WINDOW
from tests.monitor.traffic import CLASSES, production_version, seed_traffic, topics

# 15m, 1h and 24h windows; queue, priority, channel and tenant segments (the defaults)
SETTINGS = Settings(
    monitor_calibration_replicates=100, monitor_reference_min_tickets=300, monitor_min_tickets=50
)
PERIOD_HOURS = 30 * 24


@pytest.fixture(autouse=True)
def _fresh_reference_cache() -> None:
    references.clear_cache()


@pytest.fixture
def two_tenants(db: Session) -> tuple[str, str]:
    """Traffic of two tenants, two tickets of Acme's for one of Bravo's, in the reference
    day and in the window."""
    acme = make_tenant(db, name="Acme", slug="acme")
    bravo = make_tenant(db, name="Bravo Bank")
    owners = (acme.id, acme.id, bravo.id)
    t = topics()
    version = production_version(db)
    day = timedelta(days=1)
    seed_traffic(db, t.window(10, 600), version_id=version.id, start=DAY, span=day, tenants=owners)
    info = repository.production_version(db)
    assert info is not None
    references.rebaseline(
        db, settings=SETTINGS, version=info, start=DAY, end=DAY + day, actor=Actor("t", "operator")
    )
    hour = timedelta(hours=1)
    seed_traffic(
        db, t.window(11, 180), version_id=version.id, start=WINDOW.start, span=hour, tenants=owners
    )
    return "tenant:acme", "tenant:bravo-bank"


def test_a_window_computes_a_segment_for_each_tenant_it_holds(
    db: Session, two_tenants: tuple[str, str]
) -> None:
    segments = compute.segments_of(db, settings=SETTINGS, window=WINDOW)
    assert set(two_tenants) <= set(segments)
    assert not [s for s in segments if s.startswith("tenant:") and s not in two_tenants]
    no_tenants = Settings(monitor_segments="queue,priority,channel")
    assert not [
        s
        for s in compute.segments_of(db, settings=no_tenants, window=WINDOW)
        if s.startswith("tenant:")
    ]


@pytest.mark.parametrize(("index", "volume"), [(0, 2 / 3), (1, 1 / 3)])
def test_each_tenant_segment_takes_its_share_of_the_budget_by_volume(
    db: Session, two_tenants: tuple[str, str], index: int, volume: float
) -> None:
    segment = two_tenants[index]
    report = compute.compute_window(db, settings=SETTINGS, window=WINDOW, segment=segment)
    assert not report.insufficient, report.reason
    assert report.n == round(180 * volume)
    stored = repository.signal_rows(
        db, window_size_s=WINDOW.size_s, window_end=WINDOW.end, segment=segment
    )
    assert stored and all(r.segment == segment for r in stored)
    # half the budget to the four kinds, a quarter of that to tenants, split by volume, a
    # third of it to 1-hour windows; that stream's share is then split between its layers
    share = 0.5 / 4 * volume / 3
    assert report.sequential is not None
    assert report.sequential["budget_share"] == pytest.approx(share)
    sequential = PERIOD_HOURS / (SEQUENTIAL_SHARE * (1 - REFERENCE_TAIL_SHARE) * share)
    assert report.sequential["sequential_arl"] == pytest.approx(sequential)
    assert 0 < report.sequential["window_alpha"] < share / PERIOD_HOURS


def test_the_tenant_segments_shares_sum_to_their_kinds_part_of_one_budget(
    db: Session, two_tenants: tuple[str, str]
) -> None:
    rows = repository.window_rows(
        db, start=DAY, end=DAY + timedelta(days=1), segment="all", limit=10_000
    )
    reference = traffic_window(rows, CLASSES)
    budget = streams.deployment_budget_of(SETTINGS, reference)
    tenants = [b for b in budget if b.segment.startswith("tenant:")]
    assert {b.segment for b in tenants} == set(two_tenants)
    assert sum(b.share for b in tenants) == pytest.approx(0.5 / 4)
    assert sum(b.share for b in budget) == pytest.approx(1.0)
