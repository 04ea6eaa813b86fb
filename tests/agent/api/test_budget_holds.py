"""Budget holds under pressure: 32 concurrent requests at 99% of a tenant's budget overshoot it
by at most one call's cost, because each model call first holds its cost estimate."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from agent.db import sqlalchemy_url
from agent.services.operators import Actor
from agent.services.tenants import create_tenant
from tests.agent.api.test_llm_routing import promote
from tests.asyncdb import session_for
from tests.factories import make_decision, make_ticket
from tests.fakes.openai_server import Reply

ANSWER = json.dumps({"queue": "transfers", "priority": "P3"})
CONCURRENT = 32


@pytest.fixture
def priced_version(live_api, fake_openai):
    """An llm version on a model LiteLLM prices (gpt-4o); each ticket makes two calls (an
    answer and one sample), each billed for 300 prompt and 20 completion tokens, answered
    after 0.2 s so that concurrent calls are in flight together."""
    promote(
        live_api,
        f"5.0.{uuid.uuid4().int % 100000}",
        classifier="llm",
        model="openai/gpt-4o",
        params={
            "k": 15,
            "llm": {
                "api_base": fake_openai.base_url,
                "max_retries": 0,
                "probability_method": "samples",
                "samples_k": 1,
            },
        },
    )
    fake_openai.script(
        "gpt-4o", then=Reply(ANSWER, prompt_tokens=300, completion_tokens=20, delay_s=0.2)
    )
    yield
    promote(live_api, live_api.setup.version)


def new_tenant(live_api, budget: float | None) -> tuple[uuid.UUID, str]:
    async def body() -> tuple[uuid.UUID, str]:
        async with session_for(live_api.database_url) as s:
            tenant, key = await create_tenant(
                s,
                name=f"holds-{uuid.uuid4().hex[:6]}",
                actor=Actor("tests", "admin"),
                monthly_budget_usd=budget,
            )
            return tenant.id, key

    return asyncio.run(body())


def submit(live_api, key: str) -> dict:
    with live_api.client(key=key) as c:
        r = c.post(
            "/v1/tickets",
            json={"source": "tests", "external_id": uuid.uuid4().hex, "body": "transfer pending"},
        )
    assert r.status_code == 201, r.text
    return r.json()


def seed_spend(live_api, tenant_id: uuid.UUID, usd: float) -> None:
    """Spend recorded earlier this month: one decision of the tenant costing ``usd``."""
    engine = create_engine(sqlalchemy_url(live_api.database_url), poolclass=pool.NullPool)
    with Session(engine) as db, db.begin():
        make_decision(
            db, make_ticket(db, tenant_id=tenant_id), cost_usd=Decimal(str(round(usd, 6)))
        )
    engine.dispose()


def query(live_api, sql: str, *args: object) -> list[tuple]:
    with psycopg.connect(live_api.database_url) as conn:
        return conn.execute(sql, args).fetchall()


def month_spend(live_api, tenant_id: uuid.UUID) -> float:
    (row,) = query(
        live_api,
        "SELECT coalesce(sum(d.cost_usd), 0)::float8 FROM decisions d "
        "JOIN tickets t ON t.id = d.ticket_id WHERE t.tenant_id = %s",
        tenant_id,
    )
    return row[0]


def test_concurrent_calls_at_99_percent_overshoot_the_budget_by_at_most_one_call(
    live_api, priced_version
):
    _, probe_key = new_tenant(live_api, None)
    probe = submit(live_api, probe_key)
    ((cost, output),) = query(
        live_api,
        "SELECT d.cost_usd::float8, s.output FROM decisions d JOIN trace_spans s "
        "ON s.decision_id = d.id AND s.name = 'classify' WHERE d.id = %s",
        probe["decision_id"],
    )
    estimate = output["estimated_cost_usd"]
    assert 0 < cost <= estimate  # the estimate bounds what a ticket's calls cost
    budget = round(estimate * 250, 4)  # its last 1% holds 2.5 estimates
    tenant_id, key = new_tenant(live_api, budget)
    seed_spend(live_api, tenant_id, budget * 0.99)

    with ThreadPoolExecutor(CONCURRENT) as threads:
        routes = list(threads.map(lambda _: submit(live_api, key), range(CONCURRENT)))

    spent = month_spend(live_api, tenant_id)
    assert spent <= budget + cost, (spent, budget, cost)
    called = [r for r in routes if r["mode"] != "budget"]
    refused = [r for r in routes if r["mode"] == "budget"]
    assert len(called) == 2  # two estimates fit in what was left; without holds, all 32 ran
    assert len(refused) == CONCURRENT - 2
    assert all(r["routed_to"] == "human_triage" for r in refused)
    assert all("cannot cover this model call" in r["reason"] for r in refused)
    assert query(
        live_api, "SELECT count(*) FROM budget_reservations WHERE tenant_id = %s", tenant_id
    ) == [(0,)]  # every hold was settled by its decision
