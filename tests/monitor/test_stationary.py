"""On a stationary stream the monitor stays quiet.

Tickets from one pool (Banking77 intents the history knows) go through the real API on a
simulated clock (``received_at``): a day of reference traffic, then 50 fifteen-minute windows
of the same distribution. Every window of every segment is computed through the service, as
the worker would; at the default target (one false alarm per 30 days per segment) none opens
an alert.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, pool, select
from sqlalchemy.orm import Session

from agent.api.app import create_app
from agent.config import Settings
from agent.db import sqlalchemy_url
from agent.embed import get_embedder
from agent.models import Alert
from agent.services.operators import Actor
from evals.bench.harness import drive
from monitor import references, repository, service
from monitor.windows import Window
from tests.live import ServerThread, set_up_agent, settings_for
from tests.monitor.banking import pools, ticket_body

WINDOWS = 50
PER_WINDOW = 100
REFERENCE = 1000
CHANNELS = ("web", "email")
T0 = datetime(2026, 3, 2, tzinfo=UTC)
FIRST_END = T0 + timedelta(days=1, minutes=15)


@pytest.fixture
def stream(fresh_db_url: str, redis_url: str, tmp_path) -> Iterator[Settings]:
    """The reference day and the 50 windows after it, routed by the real API."""
    settings = settings_for(database_url=fresh_db_url, redis_url=redis_url, data_dir=tmp_path)
    scenario = pools(history_per_queue=40)
    setup = set_up_agent(settings, scenario.history, get_embedder(settings))
    calm = scenario.calm
    assert len(calm) >= REFERENCE + WINDOWS * PER_WINDOW
    span = timedelta(days=1) / REFERENCE
    bodies = [
        ticket_body(calm[i], channel=CHANNELS[i % 2], received_at=T0 + i * span, prefix="ref")
        for i in range(REFERENCE)
    ]
    step = timedelta(minutes=15) / PER_WINDOW
    for w in range(WINDOWS):
        start = FIRST_END - timedelta(minutes=15) + w * timedelta(minutes=15)
        for j in range(PER_WINDOW):
            i = REFERENCE + w * PER_WINDOW + j
            bodies.append(
                ticket_body(
                    calm[i], channel=CHANNELS[j % 2], received_at=start + j * step, prefix="win"
                )
            )
    with ServerThread(create_app(settings, plugins=False)) as server:
        result = drive(
            f"{server.url}/v1/tickets",
            bodies,
            concurrency=16,
            headers={"Authorization": f"Bearer {setup.api_key}"},
        )
    assert result.errors == 0
    yield settings


@pytest.mark.timeout(900)
def test_fifty_windows_of_the_reference_distribution_open_no_alert(stream: Settings) -> None:
    references.clear_cache()
    settings = stream  # the defaults: 15m windows at one false alarm per 30 days per segment
    assert settings.database_url is not None
    url = settings.database_url.get_secret_value()
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    severities: list[str] = []
    ratios: list[float] = []
    started = time.perf_counter()
    with Session(engine) as db:
        info = repository.production_version(db)
        assert info is not None
        references.rebaseline(
            db,
            settings=settings,
            version=info,
            start=T0,
            end=T0 + timedelta(days=1),
            actor=Actor("tests", "operator"),
        )
        db.commit()
        for w in range(WINDOWS):
            window = Window(900, FIRST_END + w * timedelta(minutes=15))
            for segment in ("all", "channel:web", "channel:email"):
                report = service.compute_window(
                    db, settings=settings, window=window, segment=segment
                )
                db.commit()
                assert not report.insufficient, report.reason
                assert report.n == (PER_WINDOW if segment == "all" else PER_WINDOW // 2)
                severities.append(report.severity)
                assert report.score is not None and report.threshold is not None
                ratios.append(report.score / report.threshold)
        alerts = db.scalars(select(Alert)).all()
    engine.dispose()
    print(
        f"\nstationary: {len(severities)} windows in {time.perf_counter() - started:.0f}s; "
        f"largest evidence / warning threshold {max(ratios):.2f}"
    )
    assert len(severities) == WINDOWS * 3
    assert severities.count("none") == len(severities)
    assert alerts == []
