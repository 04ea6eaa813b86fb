"""One small replay end to end: the real API process, simulated reviewers, the real monitor,
the peers, and the report; a strong new-product shift must be caught at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from agent.config import Settings
from agent.db import sqlalchemy_url
from agent.models import Outcome, Review, SignalValue
from evals.replay.environment import ReplayEnv
from evals.replay.monitor_port import ServiceMonitor
from evals.replay.report import write_index, write_scenario_report
from evals.replay.runner import COMPOSITE, run_replay
from evals.replay.scenario import parse_scenario
from tests.conftest import Servers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NEW = ["getting_virtual_card", "get_disposable_virtual_card", "disposable_card_limits"]

SCENARIO = {
    "name": "tiny-launch",
    "description": "a small, strong new-product launch",
    "seed": 21,
    "dataset": {"name": "banking77"},
    "tickets_per_window": 60,
    "history": {"share": 0.12, "hold_out_intents": NEW},
    "reference": {"windows": 6},
    "reviewers": {"share": 0.25},
    "outcomes": {"share": 0.5, "delay_windows": 0},
    "phases": [
        {"name": "calm", "kind": "stationary", "windows": 2},
        {"name": "launch", "kind": "new_product", "windows": 2, "intents": NEW, "share": 0.9},
    ],
}


@pytest.fixture
def replay_settings(servers: Servers, tmp_path: Path) -> Settings:
    return Settings(
        database_url=servers.database("postgres"),
        redis_url=servers.redis_url,
        data_dir=servers.data_dir,
        embedded_autostart=False,
        monitor_reference_min_tickets=200,
        monitor_calibration_replicates=100,
    )


def test_a_small_replay_catches_a_strong_launch_and_writes_the_report(
    replay_settings: Settings, tmp_path: Path
) -> None:
    scenario = parse_scenario(SCENARIO)
    kept: list[str] = []

    def monitor(env: ReplayEnv) -> ServiceMonitor:
        kept.append(env.database_url)
        return ServiceMonitor(env.settings, window=scenario.clock.window)

    result = run_replay(
        scenario,
        settings=replay_settings,
        monitor_factory=monitor,
        work_dir=tmp_path / "work",
        keep_database=True,
    )
    judged = [r.window.index for r in result.records]
    assert judged == [6, 7, 8, 9]
    assert all(r.composite and not r.composite.insufficient for r in result.records)

    composite = result.score_of(COMPOSITE)
    (launch,) = composite.detections
    assert launch.delay_windows == 1 and launch.delay_tickets == result.stream.windows[8].n_tickets
    # Two calm hourly windows at one false alarm per 30 days: both alarming happens in at most
    # 6e-6 of runs, one in 3e-3-5e-3 (docs/testing.md).
    assert composite.false_alarms <= 1 and composite.calm_windows == 2
    caught = next(r for r in result.records if r.window.index == 8).composite
    # a content change, not the agent's (which small windows cannot tell apart more finely)
    assert caught is not None
    assert caught.what_moved in {"new_content", "label_mix", "content_mix"}
    assert {p.detector for r in result.records for p in r.peers} == {
        "evidently_default",
        "ks_probabilities",
    }
    assert sum(r.reviews.get("overridden", 0) for r in result.records) > 0
    # past windows re-judged on their late labels as the replay's clock passed their horizon
    # (1 h after the 30 s grace: windows 6 and 7 of the hourly streams, in windows 8 and 9;
    # window 8's falls 30 s after the replay ends), as the live monitor would
    late = result.meta["late_labels"]
    assert late["with_enough_labels"] > 0 and late["rejudged"] >= late["with_enough_labels"]

    engine = create_engine(sqlalchemy_url(kept[0]))
    try:
        with Session(engine) as session:
            stored = session.scalar(
                select(func.count(func.distinct(SignalValue.window_end))).where(
                    SignalValue.segment == "all",
                    # the replay's own windows; every other configured size is computed too
                    SignalValue.window_size_s == int(scenario.clock.window.total_seconds()),
                )
            )
            rejudged = session.scalars(
                select(SignalValue.window_end)
                .where(
                    SignalValue.segment == "all",
                    SignalValue.window_size_s == 3600,
                    SignalValue.signal == "label_accuracy@1h",
                )
                .order_by(SignalValue.window_end)
            ).all()
            reviews = session.scalar(select(func.count()).select_from(Review))
            helpdesk = session.scalar(
                select(func.count()).select_from(Outcome).where(Outcome.source == "helpdesk")
            )
        assert stored == 4 and reviews and reviews > 20
        assert rejudged == [result.stream.windows[i].end for i in (6, 7)]
        assert helpdesk and helpdesk > 100  # half of every window's tickets, reported at once
    finally:
        engine.dispose()
        _drop(replay_settings, kept[0])

    report = tmp_path / "report"
    data = write_scenario_report(result, report / scenario.name)
    write_index(report)
    for name in ("index.html", "timeline.png", "signals.png", "summary.json", "table.md"):
        assert (report / scenario.name / name).stat().st_size > 0
    assert (report / scenario.name / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "1 window (" in (report / "results.md").read_text()
    assert json.loads((report / "results.json").read_text())[0]["scenario"] == "tiny-launch"
    assert data["what_moved"][0]["what_moved"] == caught.what_moved
    assert "data:image/png;base64," in (report / "index.html").read_text()


def _drop(settings: Settings, url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = settings.database_url.get_secret_value()  # type: ignore[union-attr]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
