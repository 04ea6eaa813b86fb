"""A rollback reaches every API process within a second (measured, as the kill switch was).

Three ``ticketwatch serve`` processes, each on its own port, serve version 1.1.0; a rollback
(the service ``versions rollback`` calls, then the Redis epoch bump) moves production back to
1.0.0. Each process is then probed with tickets, concurrently, until it answers with 1.0.0: the
time from the start of the rollback to that answer is the propagation time of that process.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from agent.datasets.banking77 import labelled_records
from agent.embed import get_embedder
from agent.repositories import catalog
from agent.services.control import ControlPlane
from agent.services.operators import Actor, move_label, rollback_production
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from tests.asyncdb import session_for
from tests.factories import stratified
from tests.live import ApiProcess, set_up_agent, settings_for

pytestmark = pytest.mark.e2e

PROCESSES = 3
DEADLINE_S = 1.0
ACTOR = Actor("tests", "operator")
REPORT = Path(os.environ.get("TICKETWATCH_ROLLBACK_REPORT", "artifacts/rollback-latency.json"))


def version_ids(url: str) -> dict[str, str]:
    async def body() -> dict[str, str]:
        async with session_for(url) as session:
            return {str(v.id): v.semver for v in await catalog.list_versions(session)}

    return asyncio.run(body())


def label_change(url: str, redis_url: str, *, to: str | None) -> None:
    """Promote ``to`` (or roll back when None), commit, and tell every process."""

    async def body() -> None:
        async with session_for(url) as session:
            if to is None:
                await rollback_production(session, actor=ACTOR)
            else:
                await move_label(session, label="production", semver=to, actor=ACTOR)
        redis = Redis.from_url(redis_url)
        await ControlPlane(None, redis).changed()  # type: ignore[arg-type]
        await redis.aclose()

    asyncio.run(body())


def served_version(client: httpx.Client, key: str) -> str:
    r = client.post(
        "/v1/tickets",
        headers={"Authorization": f"Bearer {key}"},
        json={"source": "rollback", "external_id": uuid.uuid4().hex, "body": "card not arrived"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["agent_version_id"])


def time_to_version(url: str, key: str, version_id: str, started: float) -> tuple[float, int]:
    """Seconds from ``started`` until the process at ``url`` serves ``version_id``, and the
    tickets it took (1: the first ticket after the rollback already had it)."""
    probes = 1
    with httpx.Client(base_url=url, timeout=10) as client:
        while served_version(client, key) != version_id:
            assert time.perf_counter() - started < 10, f"{url} still serves the old version"
            probes += 1
        return time.perf_counter() - started, probes


def test_a_rollback_reaches_every_api_process_within_a_second(servers, fresh_db_url):
    settings = settings_for(
        database_url=fresh_db_url, redis_url=servers.redis_url, data_dir=servers.data_dir
    )
    history = stratified(labelled_records("train", load_taxonomy("banking77")), 10)
    setup = set_up_agent(settings, history, get_embedder(settings))

    async def newer() -> None:
        async with session_for(fresh_db_url) as session:
            await create_version(
                session,
                semver="1.1.0",
                classifier="knn",
                taxonomy=load_taxonomy("banking77"),
                actor=ACTOR,
                params={"k": 9},
            )

    asyncio.run(newer())
    label_change(fresh_db_url, servers.redis_url, to="1.1.0")
    ids = {semver: vid for vid, semver in version_ids(fresh_db_url).items()}
    apis = [
        ApiProcess(
            database_url=fresh_db_url, redis_url=servers.redis_url, data_dir=servers.data_dir
        )
        for _ in range(PROCESSES)
    ]
    try:
        for api in apis:
            api.start()
            with httpx.Client(base_url=api.url, timeout=30) as client:
                assert served_version(client, setup.api_key) == ids["1.1.0"]  # warm, and 1.1.0
        started = time.perf_counter()
        label_change(fresh_db_url, servers.redis_url, to=None)
        committed = time.perf_counter() - started
        with ThreadPoolExecutor(PROCESSES) as pool:
            results = list(
                pool.map(
                    lambda api: time_to_version(api.url, setup.api_key, ids["1.0.0"], started),
                    apis,
                )
            )
    finally:
        for api in apis:
            api.stop()

    times = [t for t, _ in results]
    figures = {
        "processes": PROCESSES,
        "rollback_committed_and_published_s": round(committed, 4),
        "first_ticket_on_previous_version_s": [round(t, 4) for t in times],
        "tickets_until_previous_version": [n for _, n in results],
        "max_s": round(max(times), 4),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2))
    print(f"rollback propagation: {figures}")
    assert max(times) < DEADLINE_S, figures
