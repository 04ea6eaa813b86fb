"""Versions: canary by a sticky share of customers, rollback effective on the next ticket."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from redis.asyncio import Redis

from agent.services.control import ControlPlane, canary_bucket
from agent.services.operators import Actor, move_label, rollback_production
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from tests.asyncdb import session_for

ACTOR = Actor("tests", "operator")


def change(live_api, body) -> None:
    async def run() -> None:
        async with session_for(live_api.database_url) as session:
            await body(session)
        redis = Redis.from_url(live_api.settings.redis_url.get_secret_value())
        await ControlPlane(None, redis).changed()  # type: ignore[arg-type]
        await redis.aclose()

    asyncio.run(run())


def versions_of(client, customers: list[str]) -> dict[str, str]:
    out = {}
    for c in customers:
        r = client.post(
            "/v1/tickets",
            json={
                "source": "tests",
                "external_id": uuid.uuid4().hex,
                "body": "how do I top up my account",
                "customer_id": c,
            },
        ).json()
        out[c] = r["agent_version_id"]
    return out


def test_canary_serves_a_sticky_share_of_customers(client, live_api):
    semver = f"1.5.{uuid.uuid4().int % 10000}"

    async def canary(session) -> None:
        await create_version(
            session,
            semver=semver,
            classifier="knn",
            actor=ACTOR,
            taxonomy=load_taxonomy("banking77"),
            params={"k": 15},
        )
        await move_label(session, label="canary", semver=semver, actor=ACTOR, canary_percent=30)

    change(live_api, canary)
    try:
        customers = [f"cust-{i}" for i in range(60)]
        first, second = versions_of(client, customers), versions_of(client, customers)
        assert first == second  # sticky
        counts = Counter(first.values())
        assert len(counts) == 2
        expected = sum(canary_bucket(c) < 30 for c in customers)
        assert min(counts.values()) == min(expected, 60 - expected)
    finally:

        async def stop(session) -> None:
            await move_label(session, label="canary", semver=semver, actor=ACTOR, canary_percent=0)

        change(live_api, stop)


def test_rollback_takes_effect_on_the_next_ticket(client, live_api):
    semver = f"1.6.{uuid.uuid4().int % 10000}"
    before = versions_of(client, ["r1"])["r1"]

    async def promote(session) -> None:
        await create_version(
            session,
            semver=semver,
            classifier="knn",
            actor=ACTOR,
            taxonomy=load_taxonomy("banking77"),
            params={"k": 15},
        )
        await move_label(session, label="production", semver=semver, actor=ACTOR)

    change(live_api, promote)
    promoted = versions_of(client, ["r2"])["r2"]
    assert promoted != before

    async def back(session) -> None:
        assert await rollback_production(session, actor=ACTOR) == live_api.setup.version

    change(live_api, back)
    assert versions_of(client, ["r3"])["r3"] == before
