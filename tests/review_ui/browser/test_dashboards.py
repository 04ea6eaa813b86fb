"""Dashboards render what the monitor writes: signals with bands, drift points, a fired alert
with its evidence and explanation clusters; an operator acknowledges and resolves it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from agent.db import sqlalchemy_url
from tests.factories import make_alert, make_signal_value
from tests.review_ui.browser.conftest import screenshot
from tests.review_ui.traffic import post_realistic_traffic

pytestmark = pytest.mark.browser

SIGNALS = {  # name: (calm level, threshold, level at the drift)
    "embedding_mmd": (0.004, 0.012, 0.031),
    "entropy_mean": (0.52, 0.71, 0.93),
    "fallback_rate": (0.01, 0.04, 0.02),
    "human_override_rate": (0.08, 0.19, 0.27),
}
CLUSTERS = [
    {
        "size": 41,
        "top_terms": ["crypto", "wallet", "staking", "withdraw"],
        "nearest_queue": "transfers",
        "examples": [
            "How do I move my crypto to an external wallet?",
            "Staking rewards have not shown up in my balance",
            "Can I withdraw bitcoin to my bank account?",
        ],
    },
    {
        "size": 17,
        "top_terms": ["savings", "pot", "interest"],
        "nearest_queue": "account_and_security",
        "examples": ["Where do I see the interest on my savings pot?"],
    },
]


def seed_monitor_output(database_url: str) -> str:
    engine = create_engine(sqlalchemy_url(database_url), poolclass=pool.NullPool)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with Session(engine) as db:
        for name, (calm, threshold, drift) in SIGNALS.items():
            for hour in range(24, 0, -1):
                end = now - timedelta(hours=hour - 1)
                wobble = 1 + 0.15 * math.sin(hour * 1.7)
                value = calm * wobble if hour > 5 else drift * (1 - 0.08 * (hour - 1))
                make_signal_value(
                    db,
                    signal=name,
                    window_end=end,
                    value=value,
                    threshold=threshold,
                    p_value=0.001 if value > threshold else 0.4,
                    drifted=value > threshold,
                    n=180 + hour,
                    segment="all",
                )
        alert = make_alert(
            db,
            opened_at=now - timedelta(hours=4),
            last_window_end=now,
            severity="critical",
            score=5.7,
            threshold=3.1,
            rule="drift_evidence",
            segment="all",
            evidence={
                "top_segment": "queue:transfers",
                "signals": "embedding_mmd, entropy_mean",
                "shift": "new content (embedding), not label mix",
                "windows": 4,
            },
            explanation={
                "summary": "New tickets about crypto wallets and savings pots, far "
                "from anything in history.",
                "clusters": CLUSTERS,
            },
        )
        db.commit()
        alert_id = str(alert.id)
    engine.dispose()
    return alert_id


def reviewer_activity(live_ui, count: int) -> None:
    """A reviewer works through part of the queue over HTTP: mostly confirms, some overrides."""
    with psycopg.connect(live_ui.database_url) as conn:
        tickets = [
            r[0]
            for r in conn.execute(
                "SELECT d.ticket_id FROM decisions d WHERE d.is_final AND d.sampled_for_review "
                "AND d.queue IS NOT NULL AND d.queue <> 'unknown' AND d.priority IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.decision_id = d.id) LIMIT %s",
                (count,),
            )
        ]
    client, token = live_ui.login("rita")
    for i, ticket_id in enumerate(tickets):
        if i % 4 == 3:
            form = {"queue": "fraud_and_disputes", "priority": "P1", "reason": "wrong_queue"}
            client.post(f"/review/tickets/{ticket_id}/override", data={**form, "csrf_token": token})
        else:
            client.post(f"/review/tickets/{ticket_id}/confirm", data={"csrf_token": token})
    client.close()


def test_dashboard_shows_signals_and_a_fired_alert_which_an_operator_handles(signed_in, live_ui):
    post_realistic_traffic(live_ui, 40, offset=7)
    reviewer_activity(live_ui, 12)
    alert_id = seed_monitor_output(live_ui.database_url)
    page = signed_in("oscar")
    page.goto("/dashboards?range=24h&segment=all&window=3600")
    assert page.locator("#alert-strip").inner_text().count("drift_evidence") == 1
    charts = page.locator("svg.chart")
    assert charts.count() >= len(SIGNALS) + 4
    assert page.locator("svg.chart .marker").count() >= len(SIGNALS)
    assert page.locator("svg.chart .dot.drift").count() >= 4
    assert page.locator("svg.chart .band").count() == len(SIGNALS)
    screenshot(page, "dashboard-with-alert")

    page.click("#alert-strip a")
    page.wait_for_url(f"**/ops/alerts/{alert_id}")
    assert "crypto" in page.inner_text("main") and "41 tickets" in page.inner_text("main")
    page.click("button[value=acknowledge]")
    page.wait_for_selector("text=Alert acknowledged")
    screenshot(page, "alert-evidence")
    page.click("button[value=resolve]")
    page.wait_for_selector("text=Alert resolved")
    with psycopg.connect(live_ui.database_url) as conn:
        status = conn.execute(
            "SELECT status, acknowledged_by, resolved_by FROM alerts WHERE id = %s", (alert_id,)
        ).fetchone()
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE target = %s ORDER BY id", (alert_id,)
            )
        ]
    assert status == ("resolved", "oscar", "oscar")
    assert actions == ["alert.acknowledge", "alert.resolve"]
