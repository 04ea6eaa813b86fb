"""Attributing an opened alert through a real Celery worker: the alert's labelled tickets are
replayed through the previous production version (the real graph, knn on the stored history)
and compared with the current version's decisions.

Two topics of history, each with its own queue. (a) The current version's knn thresholds send
every ticket to ``unknown`` while the previous version routes them right: the change
regressed. (b) Reviewers now say one topic belongs to another queue (the world moved): both
versions route it as history taught them, equally wrong: the world drifted (the replay sees
only outcomes recorded before each ticket arrived, not the window's own later labels, which
would otherwise teach the previous version the new queue). All draws are
seeded and the verdicts rest on margins far from the test's level (p = 2^-59 and 1).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import Engine, create_engine, insert, pool
from sqlalchemy.orm import Session

from agent.config import DEFAULT_EMBEDDING_MODEL, Settings, get_settings
from agent.db import sqlalchemy_url
from agent.models import Alert, Outcome, Ticket, VersionLabel
from agent.services.shadow_runtime import close_shadow_runtime, shadow_runtime
from monitor.services.alert_lifecycle import AlertEvent
from monitor.stats.windows import Window
from monitor.worker import tasks
from monitor.worker.celery_app import app
from tests.factories import (
    EMBEDDING_DIM,
    make_agent_version,
    make_alert,
    make_audit_entry,
    make_decision,
    make_taxonomy,
    make_ticket,
)
from tests.monitor.receiver import webhook_receiver
from tests.monitor.traffic import QUEUES, TAXONOMY

WINDOW = Window(3600, datetime(2026, 3, 2, 12, tzinfo=UTC))
TOPIC_QUEUES = (QUEUES[0], QUEUES[1])
PER_TOPIC = 30
MODEL = {"embedding_model": DEFAULT_EMBEDDING_MODEL}  # what the versions pin


@pytest.fixture
def runtime_reset() -> Iterator[None]:
    close_shadow_runtime()
    yield
    close_shadow_runtime()


def near(rng: np.random.Generator, centre: np.ndarray) -> list[float]:
    v = centre + rng.normal(0, 0.01, EMBEDDING_DIM)
    return (v / np.linalg.norm(v)).tolist()


def seed_history(db: Session, centres: np.ndarray, rng: np.random.Generator) -> None:
    """50 labelled history tickets per topic, each with its topic's queue."""
    rows = []
    for topic, centre in enumerate(centres):
        for _ in range(50):
            emb = near(rng, centre)
            ticket = make_ticket(db, source="history:tests", embedding=emb, **MODEL)
            rows.append(
                {
                    "ticket_id": ticket.id,
                    "queue": TOPIC_QUEUES[topic],
                    "priority": "P3",
                    "source": "history",
                    "recorded_at": WINDOW.start - timedelta(days=1),
                    "embedding": emb,
                }
            )
    db.execute(insert(Outcome), rows)


def seed_versions(db: Session, current_params: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
    """A previous and a current knn version; production moved from the first to the second."""
    taxonomy = make_taxonomy(db, definition=TAXONOMY.model_dump(mode="json"))
    previous = make_agent_version(db, taxonomy_id=taxonomy.id, semver="1.0.0", params={"k": 15})
    current = make_agent_version(db, taxonomy_id=taxonomy.id, semver="1.1.0", params=current_params)
    db.merge(VersionLabel(label="production", agent_version_id=current.id, updated_by="tests"))
    make_audit_entry(
        db,
        action="version.promote",
        target="production",
        details={"version": "1.1.0", "previous_version_id": str(previous.id)},
    )
    return previous.id, current.id


def seed_window(
    engine: Engine, *, current_params: dict[str, Any], truth: Callable[[int], str]
) -> uuid.UUID:
    """History, the two versions, the window's tickets routed by the current version (its
    decisions are what production stored), each labelled by the helpdesk; the open alert."""
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(2, EMBEDDING_DIM))
    with Session(engine) as db, db.begin():
        seed_history(db, centres, rng)
        previous_id, current_id = seed_versions(db, current_params)
        window_tickets = []
        for i in range(2 * PER_TOPIC):
            at = WINDOW.start + timedelta(seconds=30 * i)
            ticket = make_ticket(db, embedding=near(rng, centres[i % 2]), received_at=at, **MODEL)
            window_tickets.append((ticket.id, i % 2))
    runtime = shadow_runtime(get_settings())
    with Session(engine) as db, db.begin():
        for ticket_id, topic in window_tickets:
            decision = runtime.replay(ticket_id, current_id)
            assert decision is not None
            ticket = db.get(Ticket, ticket_id)
            make_decision(
                db, ticket, queue=decision["queue"], agent_version_id=current_id, is_final=True
            )
            db.add(
                Outcome(
                    ticket_id=ticket_id,
                    queue=truth(topic),
                    priority="P3",
                    source="helpdesk",
                    recorded_at=WINDOW.end + timedelta(minutes=10),
                    embedding=ticket.embedding,  # as the API records an outcome
                )
            )
        alert = make_alert(db, last_window_end=WINDOW.end, window_size_s=WINDOW.size_s)
        return alert.id


def attributed(engine: Engine, alert_id: uuid.UUID, *, timeout_s: float) -> dict[str, Any]:
    """The alert's attribution once the worker stored it (polling, with a deadline)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with Session(engine) as db:
            alert = db.get(Alert, alert_id)
            assert alert is not None
            if "attribution" in (alert.evidence or {}):
                return alert.evidence["attribution"]
        time.sleep(0.3)
    raise AssertionError(f"alert {alert_id} was not attributed in {timeout_s} s")


def run(
    monitor_env: Callable[..., Settings], url: str, **seeding: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Seed, open the alert through ``dispatch`` with a real worker: (attribution, webhook)."""
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with webhook_receiver() as hook:
        monitor_env(monitor_webhook_url=hook.url, monitor_attribution_max_tickets=200)
        alert_id = seed_window(engine, **seeding)
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False):
            tasks.dispatch([AlertEvent(alert_id, "opened", "critical")])
            doc = attributed(engine, alert_id, timeout_s=240)
            sent = hook.wait_until(
                lambda r: r.headers.get("X-Ticketwatch-Event") == "alert.attributed", 120
            )
    engine.dispose()
    bodies = [json.loads(r.body) for r in sent]
    events = [b["event"] for b in bodies]
    assert events.index("alert.opened") < events.index("alert.attributed")  # in that order
    return doc, next(b for b in bodies if b["event"] == "alert.attributed")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_an_alert_caused_by_the_new_version_is_attributed_to_the_change(
    monitor_env: Callable[..., Settings], fresh_db_url: str, runtime_reset: None
) -> None:
    # the new version's unknown thresholds send every ticket to `unknown`
    doc, body = run(
        monitor_env,
        fresh_db_url,
        current_params={"k": 15, "unknown_lo": 0.0, "unknown_hi": 0.0},
        truth=lambda topic: TOPIC_QUEUES[topic],
    )
    assert doc["verdict"] == "change_regressed", doc["summary"]
    assert (doc["n"], doc["current_correct"], doc["previous_correct"]) == (60, 0, 60)
    assert (doc["only_current"], doc["only_previous"]) == (0, 60)
    assert doc["p_value"] == pytest.approx(2 * 0.5**60)
    assert (doc["current_version"], doc["previous_version"]) == ("1.1.0", "1.0.0")
    assert body["alert"]["attribution"]["verdict"] == "change_regressed"
    assert body["delivery_id"].endswith(":attributed")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_an_alert_on_a_drift_that_hits_both_versions_is_attributed_to_the_world(
    monitor_env: Callable[..., Settings], fresh_db_url: str, runtime_reset: None
) -> None:
    # the second topic's tickets now belong to another queue: neither version knows it
    moved = QUEUES[2]
    doc, body = run(
        monitor_env,
        fresh_db_url,
        current_params={"k": 5},
        truth=lambda topic: TOPIC_QUEUES[0] if topic == 0 else moved,
    )
    assert doc["verdict"] == "world_drifted", doc["summary"]
    assert (doc["n"], doc["current_correct"], doc["previous_correct"]) == (60, 30, 30)
    assert (doc["only_current"], doc["only_previous"], doc["p_value"]) == (0, 0, 1.0)
    assert body["alert"]["attribution"]["verdict"] == "world_drifted"
