"""Operator console actions over HTTP: versions and labels, the kill switch's two steps,
alerts; each goes through the audited operator services."""

from __future__ import annotations

import asyncio
import uuid

import psycopg

from agent.services.operators import Actor
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from tests.asyncdb import session_for


def audit(url: str, action: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT actor, actor_role, target, details->>'version' FROM audit_log "
            "WHERE action = %s ORDER BY id",
            (action,),
        ).fetchall()


def labels(url: str) -> dict[str, tuple[str, int]]:
    with psycopg.connect(url) as conn:
        return {
            label: (semver, percent)
            for label, semver, percent in conn.execute(
                "SELECT l.label, v.semver, l.canary_percent FROM version_labels l "
                "JOIN agent_versions v ON v.id = l.agent_version_id"
            )
        }


async def _candidate(url: str, semver: str) -> None:
    async with session_for(url) as session:
        await create_version(
            session,
            semver=semver,
            classifier="knn",
            taxonomy=load_taxonomy("banking77"),
            actor=Actor("tests", "admin"),
            params={"k": 15},
            thresholds={"min_confidence": 0.5},
        )


def test_canary_promote_and_rollback_from_the_console(live_ui):
    semver = f"1.1.{uuid.uuid4().int % 1000}"
    asyncio.run(_candidate(live_ui.database_url, semver))
    client, token = live_ui.login("oscar")
    base = labels(live_ui.database_url)["production"][0]

    def act(action: str, semver: str = "", percent: int = 0):
        r = client.post(
            "/ops/versions",
            data={"action": action, "semver": semver, "percent": percent, "csrf_token": token},
        )
        assert r.status_code == 303
        return client.get("/ops").text

    page = act("canary", semver, 20)
    assert labels(live_ui.database_url)["canary"] == (semver, 20)
    assert f"Canary {semver} serves 20% of customers." in page
    act("promote", semver)
    assert labels(live_ui.database_url)["production"] == (semver, 0)
    with live_ui.api() as api:  # the next ticket is served by the promoted version
        route = api.post(
            "/v1/tickets",
            json={
                "source": "t",
                "external_id": uuid.uuid4().hex,
                "body": "Where is my new card?",
                "customer_id": "canary-check",
            },
        ).json()
    with psycopg.connect(live_ui.database_url) as conn:
        served = conn.execute(
            "SELECT semver FROM agent_versions WHERE id = %s", (route["agent_version_id"],)
        ).fetchone()
    assert served == (semver,)
    page = act("rollback")
    assert labels(live_ui.database_url)["production"] == (base, 0)
    assert f"Production rolled back to {base}." in page
    act("canary", semver, 0)
    assert audit(live_ui.database_url, "version.promote")[-1] == (
        "oscar",
        "operator",
        "production",
        semver,
    )
    assert audit(live_ui.database_url, "version.rollback")[-1] == (
        "oscar",
        "operator",
        "production",
        base,
    )


def test_a_shadow_is_set_and_turned_off_from_the_console(live_ui):
    semver = f"1.2.{uuid.uuid4().int % 1000}"
    asyncio.run(_candidate(live_ui.database_url, semver))
    client, token = live_ui.login("oscar")

    def act(percent: int) -> str:
        form = {"action": "shadow", "semver": semver, "percent": percent, "csrf_token": token}
        assert client.post("/ops/versions", data=form).status_code == 303
        return client.get("/ops").text

    page = act(20)
    assert labels(live_ui.database_url)["shadow"] == (semver, 20)
    assert f"Shadow {semver} runs on 20% of tickets." in page and "shadow 20%" in page
    page = act(0)
    assert labels(live_ui.database_url)["shadow"] == (semver, 0)
    assert f"Shadow {semver} is off." in page
    assert [a[2:] for a in audit(live_ui.database_url, "version.shadow")][-1] == ("shadow", semver)
    assert audit(live_ui.database_url, "version.shadow_off")[-1][0] == "oscar"


def test_a_canary_is_compared_with_production_on_the_console(live_ui):
    semver = f"1.3.{uuid.uuid4().int % 1000}"
    asyncio.run(_candidate(live_ui.database_url, semver))
    client, token = live_ui.login("oscar")
    form = {"action": "canary", "semver": semver, "percent": 5, "csrf_token": token}
    assert client.post("/ops/versions", data=form).status_code == 303
    try:
        assert f'href="/ops/compare/{semver}"' in client.get("/ops").text
        page = client.get(f"/ops/compare/{semver}")
        assert page.status_code == 200
        assert f'{semver} <span class="mono muted">canary</span>' in page.text
        assert "Verdict:" in page.text and ">hold<" in page.text
        assert "not enough evidence yet" in page.text and "channel" in page.text
    finally:
        form["percent"] = 0
        client.post("/ops/versions", data=form)
    unknown = client.get("/ops/compare/9.9.9-none")
    assert unknown.status_code == 404 and "no agent version" in unknown.text


def test_the_kill_switch_asks_for_a_reason_and_a_confirmation(live_ui):
    client, token = live_ui.login("oscar")
    form = {"kind": "queue", "value": "top_ups", "state": "on", "csrf_token": token}
    no_reason = client.post("/ops/switches", data=form)
    assert no_reason.status_code == 303 and "give a reason" in client.get("/ops").text
    asked = client.post("/ops/switches", data={**form, "reason": "top-up outage"})
    assert asked.status_code == 200 and "Confirm: turn on" in asked.text
    with psycopg.connect(live_ui.database_url) as conn:  # nothing changed yet
        assert conn.execute(
            "SELECT count(*) FROM switches WHERE key = 'queue:top_ups'"
        ).fetchone() == (0,)
    done = client.post("/ops/switches", data={**form, "reason": "top-up outage", "confirm": "yes"})
    assert done.status_code == 303
    assert "Kill switch on:" in client.get("/review").text  # the banner on every page
    client.post(
        "/ops/switches", data={**form, "state": "off", "reason": "restored", "confirm": "yes"}
    )
    with psycopg.connect(live_ui.database_url) as conn:
        history = conn.execute(
            "SELECT action, details->>'reason' FROM audit_log WHERE target = 'queue:top_ups' "
            "ORDER BY id"
        ).fetchall()
    assert history == [("kill_switch.on", "top-up outage"), ("kill_switch.off", "restored")]


def test_a_bad_segment_is_refused_with_its_reason(live_ui):
    client, token = live_ui.login("oscar")
    client.post(
        "/ops/switches",
        data={
            "kind": "queue",
            "value": "no spaces allowed!",
            "state": "on",
            "reason": "x",
            "confirm": "yes",
            "csrf_token": token,
        },
    )
    assert "invalid switch" in client.get("/ops").text


def test_the_versions_table_shows_the_fitted_threshold_and_the_gate_not_its_scores(live_ui):
    from agent.classify.novelty import NoveltyGate
    from agent.classify.selective import SelectiveFit

    semver = f"1.2.{uuid.uuid4().int % 1000}"
    fit = SelectiveFit("target_accuracy", 0.37, 0.95, 0.893, 0.9661, 1000, 0.05)
    gate = NoveltyGate(calibration=tuple(0.123456 + i / 1e4 for i in range(300)), calibrated=True)

    async def body() -> None:
        async with session_for(live_ui.database_url) as session:
            await create_version(
                session,
                semver=semver,
                classifier="knn",
                taxonomy=load_taxonomy("banking77"),
                actor=Actor("tests", "admin"),
                params={"k": 15},
                thresholds={
                    "min_confidence": 0.37,
                    "selective": fit.to_thresholds(),
                    "novelty": gate.to_thresholds(),
                },
            )

    asyncio.run(body())
    client, _ = live_ui.login("oscar")
    page = client.get("/ops").text
    assert "min_confidence=0.37 (target_accuracy 0.95: 89.3% auto-routed, accuracy 0.966)" in page
    assert "novelty α=0.05 nearest_disagreement n=300" in page
    assert "0.123456" not in page  # the calibration scores stay out of the table


def test_the_console_page_has_one_plain_title_and_one_portals_panel(live_ui):
    client, _ = live_ui.login("oscar")
    html = client.get("/ops").text
    client.close()
    title = html[html.index("<title>") + len("<title>") : html.index("</title>")]
    assert title == "Operator console · ticketwatch"
    assert html.count('id="portals"') == 1
