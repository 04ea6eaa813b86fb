"""Kill switches, and every failure ending in exactly one human-triage decision."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from redis.asyncio import Redis

from agent.api.app import create_app
from agent.runtime import AgentRuntime
from agent.services.control import ControlPlane
from agent.services.operators import Actor, set_kill_switch
from tests.asyncdb import session_for
from tests.live import ServerThread, settings_for


def flip(live_api, key: str, on: bool) -> None:
    async def body() -> None:
        async with session_for(live_api.database_url) as session:
            await set_kill_switch(
                session, key=key, enabled=on, reason="test", actor=Actor("tests", "operator")
            )
        redis = Redis.from_url(live_api.settings.redis_url.get_secret_value())
        await ControlPlane(None, redis).changed()  # type: ignore[arg-type]
        await redis.aclose()

    asyncio.run(body())


def submit(client: httpx.Client, body: str = "my card was stolen", **extra: object) -> dict:
    r = client.post(
        "/v1/tickets",
        json={"source": "tests", "external_id": uuid.uuid4().hex, "body": body, **extra},
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def switch_off_after(live_api):
    yield
    for key in ("global", "channel:email", "queue:fraud_and_disputes"):
        flip(live_api, key, False)


def test_global_kill_switch_routes_new_tickets_to_humans_and_back(
    client, live_api, switch_off_after
):
    flip(live_api, "global", True)
    route = submit(client)
    assert (route["routed_to"], route["mode"]) == ("human_triage", "kill_switch")
    spans = [s["name"] for s in client.get(f"/v1/tickets/{route['ticket_id']}").json()["spans"]]
    assert spans == ["guard", "decide", "record"]  # no model, no embedding
    flip(live_api, "global", False)
    assert submit(client)["mode"] != "kill_switch"


def test_segment_kill_switch_affects_only_that_segment(client, live_api, switch_off_after):
    flip(live_api, "channel:email", True)
    assert submit(client, channel="email")["mode"] == "kill_switch"
    assert submit(client, channel="chat")["mode"] != "kill_switch"


def test_predicted_queue_kill_switch_applies_after_classification(
    client, live_api, switch_off_after
):
    flip(live_api, "queue:fraud_and_disputes", True)
    route = submit(client, body="There is a payment on my card that I did not make, fraud!")
    assert route["mode"] == "kill_switch" and route["queue"] == "fraud_and_disputes"


def test_kill_switch_works_when_redis_is_down(live_api, servers, switch_off_after):
    settings = settings_for(
        database_url=live_api.database_url,
        redis_url="redis://127.0.0.1:1/0",
        data_dir=servers.data_dir,
    )
    with ServerThread(create_app(settings, plugins=False)) as server, live_api.client() as c:
        c.base_url = httpx.URL(server.url)
        assert submit(c)["mode"] != "kill_switch"
        flip_without_redis(live_api.database_url, "global", True)
        time.sleep(1.2)  # without Redis, processes re-read Postgres at most every second
        assert submit(c)["mode"] == "kill_switch"
        ready = c.get("/ready")  # routing works without Redis: ready, but degraded
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        checks = {check["name"]: check["ok"] for check in ready.json()["checks"]}
        assert checks == {"database": True, "redis": False, "classifier": True}


def flip_without_redis(url: str, key: str, on: bool) -> None:
    async def body() -> None:
        async with session_for(url) as session:
            await set_kill_switch(
                session, key=key, enabled=on, reason="test", actor=Actor("tests", "operator")
            )

    asyncio.run(body())


def test_database_unreachable_gives_503_with_retry_after(live_api, servers, tmp_path: Path):
    settings = settings_for(
        database_url=f"postgresql://postgres@/nowhere?host={tmp_path}&port=5432",
        redis_url=live_api.settings.redis_url.get_secret_value(),
        data_dir=servers.data_dir,
    )
    with ServerThread(create_app(settings, plugins=False)) as server:
        r = httpx.post(
            f"{server.url}/v1/tickets",
            json={"source": "tests", "external_id": "x", "body": "hello"},
            headers={"Authorization": f"Bearer {live_api.setup.api_key}"},
        )
        assert r.status_code == 503
        assert r.headers["Retry-After"].isdigit()
        assert r.json()["error"]["code"] == "unavailable"
        assert httpx.get(f"{server.url}/health").status_code == 200
        assert httpx.get(f"{server.url}/ready").status_code == 503


async def test_tickets_left_without_a_decision_are_finished_by_the_reconciler(live_api):
    ticket_id = uuid.uuid4()
    with psycopg.connect(live_api.database_url) as conn:
        conn.execute(
            "INSERT INTO tickets (id, source, external_id, subject, body, channel, metadata, "
            "received_at, created_at) VALUES (%s, 'tests', %s, '', 'my transfer has not arrived',"
            " 'web', '{}', now(), now() - interval '5 minutes')",
            (ticket_id, ticket_id.hex),
        )
    runtime = await AgentRuntime.start(live_api.settings)
    try:
        finished = await runtime.router.reconcile(older_than_s=60)
        assert finished >= 1
        again = await runtime.router.reconcile(older_than_s=60)
        assert again == 0
    finally:
        await runtime.close()
    with psycopg.connect(live_api.database_url) as conn:
        n = conn.execute(
            "SELECT count(*) FROM decisions WHERE ticket_id = %s AND is_final", (ticket_id,)
        ).fetchone()
    assert n == (1,)


def test_a_review_boost_samples_the_segments_confident_decisions(client, live_api):
    from agent.services.operators import boost_review, end_review_boost

    async def boost(on: bool) -> None:
        async with session_for(live_api.database_url) as session:
            if on:
                await boost_review(
                    session,
                    segment="channel:sms",
                    rate=1.0,
                    actor=Actor("monitor", "monitor"),
                    reason="test",
                )
            else:
                await end_review_boost(
                    session, segment="channel:sms", actor=Actor("monitor", "monitor")
                )
        redis = Redis.from_url(live_api.settings.redis_url.get_secret_value())
        await ControlPlane(None, redis).changed()  # type: ignore[arg-type]
        await redis.aclose()

    asyncio.run(boost(True))
    try:
        body = "How long does a transfer to another bank take?"
        boosted = [submit(client, body, channel="sms") for _ in range(3)]
        others = [submit(client, body, channel="web") for _ in range(3)]
    finally:
        asyncio.run(boost(False))
    with psycopg.connect(live_api.database_url) as conn:

        def sampled(routes: list[dict]) -> list[tuple[bool, float]]:
            return [
                conn.execute(
                    "SELECT sampled_for_review, inclusion_prob FROM decisions WHERE id = %s",
                    (r["decision_id"],),
                ).fetchone()
                for r in routes
            ]

        agent_routed = [r for r in boosted if r["mode"] == "agent"]
        assert agent_routed, "expected confident decisions"
        assert all(s == (True, 1.0) for s in sampled(agent_routed))
        assert all(p == 0.1 for _, p in sampled([r for r in others if r["mode"] == "agent"]))
