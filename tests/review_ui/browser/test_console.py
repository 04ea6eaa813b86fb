"""An operator flips the kill switch from the console; tickets go to humans within a second."""

from __future__ import annotations

import json
import time
import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from agent.db import sqlalchemy_url
from tests.factories import make_alert
from tests.review_ui.browser.conftest import SCREENSHOTS, screenshot

pytestmark = pytest.mark.browser
DEADLINE_S = 5.0


def post(api, body: str) -> dict:
    r = api.post(
        "/v1/tickets",
        json={
            "source": "web-form",
            "external_id": uuid.uuid4().hex,
            "body": body,
            "channel": "chat",
        },
    )
    r.raise_for_status()
    return r.json()


def flip(page, state: str, reason: str) -> None:
    """Fill the kill-switch form and ask; the console shows the confirmation step."""
    page.select_option("#s-kind", "global")
    page.fill("#s-reason", reason)
    page.click(f"#switch-{state}")
    page.wait_for_selector("#switch-confirm")


def global_switch(database_url: str) -> bool | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT enabled FROM switches WHERE key = 'global'").fetchone()
    return row[0] if row else None


def open_alert(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url), poolclass=pool.NullPool)
    with Session(engine) as db:
        make_alert(
            db,
            rule="prediction_mix",
            segment="channel:chat",
            severity="warning",
            score=3.4,
            threshold=3.0,
            explanation={
                "clusters": [
                    {
                        "size": 23,
                        "top_terms": ["refund", "pending", "merchant"],
                        "examples": ["My refund is still pending"],
                    }
                ]
            },
        )
        db.commit()
    engine.dispose()


def test_kill_switch_from_the_console_routes_tickets_to_humans_within_one_second(
    signed_in, live_ui
):
    open_alert(live_ui.database_url)
    page = signed_in("oscar")
    page.goto("/ops")
    with live_ui.api() as api:
        assert post(api, "My card has not arrived yet")["mode"] != "kill_switch"
        try:
            flip(page, "on", "Suspected drift after the pricing change; humans triage for now")
            screenshot(page, "console-confirm-kill-switch")
            started = time.perf_counter()
            page.click("#confirm-switch")
            while True:
                route = post(api, "How do I top up by bank transfer?")
                if route["routed_to"] == "human_triage" and route["mode"] == "kill_switch":
                    elapsed = time.perf_counter() - started
                    break
                assert time.perf_counter() - started < DEADLINE_S, "tickets still routed by agent"
            page.wait_for_selector("text=Kill switch global is ON")
            assert page.inner_text("#global-state") == "ON"
            assert page.is_visible(".banner.kill")
            page.reload()
            screenshot(page, "operator-console")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / "kill-switch-latency.json").write_text(
                json.dumps({"click_to_first_human_routed_s": round(elapsed, 4)})
            )
            print(f"kill switch: click to first human-routed ticket {elapsed * 1000:.0f} ms")
            assert elapsed < 1.0

            flip(page, "off", "Drift explained by the pricing change; agent back on")
            page.click("#confirm-switch")
            page.wait_for_selector("text=Kill switch global is off")
            assert post(api, "How do I top up by bank transfer?")["mode"] != "kill_switch"
        finally:
            if global_switch(live_ui.database_url):
                with psycopg.connect(live_ui.database_url) as conn:
                    conn.execute("UPDATE switches SET enabled = false WHERE key = 'global'")
    with psycopg.connect(live_ui.database_url) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE actor = 'oscar' AND target = 'global' "
                "ORDER BY id DESC LIMIT 2"
            )
        ]
    assert actions == ["kill_switch.off", "kill_switch.on"]
