"""Webhook delivery through a real Celery worker (Redis broker) to a local receiver."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import create_engine, pool, select
from sqlalchemy.orm import Session

from agent.config import Settings
from agent.db import sqlalchemy_url
from agent.models import AlertDelivery
from monitor.worker import tasks, webhooks
from monitor.worker.celery_app import app
from tests.factories import make_alert
from tests.monitor.receiver import webhook_receiver

SECRET = "test-webhook-secret"


def committed_alert(url: str) -> uuid.UUID:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with Session(engine) as db, db.begin():
        alert_id = make_alert(db, segment="channel:email", severity="critical").id
    engine.dispose()
    return alert_id


def attempts(url: str, alert_id: uuid.UUID) -> list[AlertDelivery]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with Session(engine) as db:
        rows = list(
            db.scalars(
                select(AlertDelivery)
                .where(AlertDelivery.alert_id == alert_id)
                .order_by(AlertDelivery.attempt)
            )
        )
    engine.dispose()
    return rows


def test_signature_is_an_hmac_of_timestamp_and_body() -> None:
    sig = webhooks.sign("k", "1700000000", b'{"a":1}')
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert webhooks.verify("k", "1700000000", b'{"a":1}', sig)
    assert not webhooks.verify("k", "1700000001", b'{"a":1}', sig)
    assert not webhooks.verify("other", "1700000000", b'{"a":1}', sig)


def test_backoff_doubles_from_the_setting() -> None:
    settings = Settings(monitor_webhook_backoff_s=2.0)
    assert [webhooks.backoff_s(settings, n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]


@pytest.mark.timeout(120)
def test_a_failed_delivery_is_retried_until_the_receiver_takes_it(
    monitor_env: Callable[..., Settings], fresh_db_url: str
) -> None:
    with webhook_receiver([500, 200]) as hook:
        monitor_env(
            monitor_webhook_url=hook.url,
            monitor_webhook_secret=SECRET,
            monitor_webhook_backoff_s=0.5,
            monitor_webhook_max_attempts=4,
        )
        alert_id = committed_alert(fresh_db_url)
        with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False):
            tasks.deliver_webhook.delay(str(alert_id), "opened")
            first, second = hook.wait_for(2, timeout_s=60)
    assert (first.status, second.status) == (500, 200)
    assert first.body == second.body  # the same event, delivered again
    for got in (first, second):
        headers = {k.lower(): v for k, v in got.headers.items()}
        assert webhooks.verify(
            SECRET, headers["x-ticketwatch-timestamp"], got.body, headers["x-ticketwatch-signature"]
        )
        assert headers["x-ticketwatch-event"] == "alert.opened"
    payload = json.loads(second.body)
    assert payload["alert"]["id"] == str(alert_id)
    assert payload["alert"]["segment"] == "channel:email"
    rows = attempts(fresh_db_url, alert_id)
    assert [(r.attempt, r.status_code, r.delivered) for r in rows] == [
        (1, 500, False),
        (2, 200, True),
    ]
    assert rows[0].delivery_id == rows[1].delivery_id == f"{alert_id}:opened"


@pytest.mark.timeout(120)
def test_delivery_gives_up_after_the_configured_attempts(
    monitor_env: Callable[..., Settings], fresh_db_url: str
) -> None:
    with webhook_receiver([503]) as hook:
        monitor_env(
            monitor_webhook_url=hook.url,
            monitor_webhook_backoff_s=0.2,
            monitor_webhook_max_attempts=3,
        )
        alert_id = committed_alert(fresh_db_url)
        with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False):
            tasks.deliver_webhook.delay(str(alert_id), "resolved")
            hook.wait_for(3, timeout_s=60)
            rows = attempts(fresh_db_url, alert_id)
            for _ in range(50):
                if len(rows) == 3:
                    break
                time.sleep(0.1)
                rows = attempts(fresh_db_url, alert_id)
            time.sleep(1.0)  # would a fourth attempt come (backoff 0.8 s)?
    assert [r.delivered for r in rows] == [False, False, False]
    assert len(hook.received) == 3  # no fourth attempt
    assert "X-Ticketwatch-Signature" not in hook.received[0].headers  # no secret: unsigned
