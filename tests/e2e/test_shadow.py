"""A shadow version through the real processes: ``ticketwatch serve`` routes live tickets,
``ticketwatch worker`` runs the shadow on them after production decided.

At 100% every ticket gets exactly one shadow decision (never final, stream ``shadow``, with
its own spans), production's final decisions are the ones the API answered, and the ticket's
trace shows only the served run.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from agent.datasets.banking77 import labelled_records
from agent.embed import get_embedder
from agent.taxonomy import load_taxonomy
from tests.e2e.processes import running, ticketwatch
from tests.factories import stratified
from tests.live import ApiProcess, free_port, set_up_agent, settings_for

pytestmark = pytest.mark.e2e

TEXTS = [
    "my card payment was declined at the supermarket",
    "how do I top up my account with a bank transfer",
    "I was charged twice for the same purchase",
    "the exchange rate on my transfer looks wrong",
    "my new card has not arrived yet",
    "can I get a refund for an item I returned",
    "I forgot my passcode and cannot log in",
    "why was a fee charged on my cash withdrawal",
    "the ATM kept my card",
    "how long does a transfer to another bank take",
    "please close my account",
    "my top up failed but the money left my card",
]


def _create_shadow(url: str, semver: str) -> None:
    from agent.services.operators import Actor
    from agent.services.versions import create_version
    from tests.asyncdb import session_for

    async def body() -> None:
        async with session_for(url) as session:
            await create_version(
                session,
                semver=semver,
                classifier="knn",
                taxonomy=load_taxonomy("banking77"),
                actor=Actor("tests", "admin"),
                params={"k": 5},
                thresholds={"min_confidence": 0.9},
                rationale="stricter candidate",
            )

    asyncio.run(body())


def _rows(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args or None).fetchall()


def _wait_for_shadows(url: str, n: int, deadline_s: float = 180) -> int:
    deadline = time.monotonic() + deadline_s
    while True:
        count = _rows(url, "SELECT count(*) FROM decisions WHERE is_shadow")[0][0]
        if count >= n or time.monotonic() > deadline:
            return int(count)
        time.sleep(0.2)


def test_a_shadow_at_100_percent_gets_one_shadow_decision_per_ticket(
    servers, fresh_db_url, tmp_path
):
    settings = settings_for(
        database_url=fresh_db_url, redis_url=servers.redis_url, data_dir=servers.data_dir
    )
    history = stratified(labelled_records("train", load_taxonomy("banking77")), 10)
    setup = set_up_agent(settings, history, get_embedder(settings))
    _create_shadow(fresh_db_url, "1.1.0")
    env = {
        "DATABASE_URL": fresh_db_url,
        "REDIS_URL": servers.redis_url,
        "TICKETWATCH_DATA_DIR": str(servers.data_dir),
        "TICKETWATCH_EMBEDDED_AUTOSTART": "false",
    }
    out = ticketwatch(["versions", "shadow", "1.1.0", "--percent", "100"], env=env)
    assert "shadow → 1.1.0 on 100%" in out
    api = ApiProcess(
        database_url=fresh_db_url, redis_url=servers.redis_url, data_dir=servers.data_dir
    ).start()
    metrics_port = free_port()
    worker_env = {**env, "TICKETWATCH_MONITOR_METRICS_PORT": str(metrics_port)}
    worker = ["worker", "--concurrency", "2"]
    answered: dict[str, dict[str, Any]] = {}
    try:
        with running(
            worker,
            env=worker_env,
            log=tmp_path / "worker.log",
            ready_url=f"http://127.0.0.1:{metrics_port}",
        ):
            headers = {"Authorization": f"Bearer {setup.api_key}"}
            for i, text in enumerate(TEXTS):
                r = httpx.post(
                    f"{api.url}/v1/tickets",
                    headers=headers,
                    timeout=60,
                    json={"source": "shadow", "external_id": f"s{i}", "body": text},
                )
                assert r.status_code == 201, r.text
                answered[r.json()["ticket_id"]] = r.json()
            assert _wait_for_shadows(fresh_db_url, len(TEXTS)) == len(TEXTS)
            some = next(iter(answered))
            trace = httpx.get(f"{api.url}/v1/tickets/{some}", headers=headers, timeout=30).json()
    finally:
        api.stop()
    per_ticket = _rows(
        fresh_db_url,
        "SELECT d.ticket_id::text, v.semver, d.is_final, d.is_shadow, d.stream, d.id::text,"
        " d.routed_to, d.needs_review FROM decisions d JOIN agent_versions v"
        " ON v.id = d.agent_version_id ORDER BY d.ticket_id, d.is_shadow",
    )
    by_ticket: dict[str, list[tuple[Any, ...]]] = {}
    for row in per_ticket:
        by_ticket.setdefault(row[0], []).append(row)
    assert set(by_ticket) == set(answered)
    for ticket_id, rows in by_ticket.items():
        final, shadow = rows
        assert final[1:5] == ("1.0.0", True, False, "production")
        assert shadow[1:5] == ("1.1.0", False, True, "shadow")
        # production's decision is the one the API answered, untouched by the shadow
        assert final[5] == answered[ticket_id]["decision_id"]
        assert final[6] == answered[ticket_id]["routed_to"]
    spans = _rows(
        fresh_db_url,
        "SELECT count(*) FILTER (WHERE d.is_shadow), count(*) FILTER (WHERE d.is_final)"
        " FROM trace_spans s JOIN decisions d ON d.id = s.decision_id",
    )[0]
    assert spans[0] > 0 and spans[1] > 0
    # the served trace leaves out the shadow's spans
    served = {s["name"] for s in trace["spans"]}
    assert "record" in served and len(trace["spans"]) == len(
        _rows(
            fresh_db_url,
            "SELECT 1 FROM trace_spans s JOIN decisions d ON d.id = s.decision_id"
            " WHERE d.ticket_id = %s AND d.is_final",
            uuid.UUID(some),
        )
    )
    audit = _rows(
        fresh_db_url, "SELECT action, target FROM audit_log WHERE action LIKE 'version.shadow%'"
    )
    assert audit == [("version.shadow", "shadow")]
