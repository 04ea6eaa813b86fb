"""Tenant model budgets: alert at 80%, the cheaper model from 95%, human triage at 100%."""

from __future__ import annotations

import asyncio
import json
import uuid

import litellm
import psycopg
import pytest

from agent.budgets import BudgetLevel, level_for
from agent.services.operators import Actor
from agent.services.tenants import create_tenant
from tests.agent.api.test_llm_routing import promote
from tests.asyncdb import session_for
from tests.fakes.openai_server import Reply

# Names in LiteLLM's bundled price list, served by the scripted server: real costs, no network.
PRIMARY, CHEAPER = "openai/gpt-4o", "openai/gpt-4o-mini"
ANSWER = json.dumps({"queue": "transfers", "priority": "P3"})


@pytest.mark.parametrize(
    ("spent", "level"),
    [
        (0.0, BudgetLevel.OK),
        (79.9, BudgetLevel.OK),
        (80, BudgetLevel.WARN),
        (95, BudgetLevel.DEGRADE),
        (100, BudgetLevel.EXHAUSTED),
        (130, BudgetLevel.EXHAUSTED),
    ],
)
def test_budget_levels(spent, level):
    assert level_for(spent, 100.0, warn=0.8, degrade=0.95) is level
    assert level_for(spent, None, warn=0.8, degrade=0.95) is BudgetLevel.OK


def tenant_with(live_api, budget: float | None) -> str:
    async def body() -> str:
        async with session_for(live_api.database_url) as s:
            return (
                await create_tenant(
                    s,
                    name=f"budget-{uuid.uuid4().hex[:6]}",
                    actor=Actor("tests", "admin"),
                    monthly_budget_usd=budget,
                )
            )[1]

    return asyncio.run(body())


def submit(live_api, key: str) -> dict:
    with live_api.client(key=key) as c:
        r = c.post(
            "/v1/tickets",
            json={
                "source": "tests",
                "external_id": uuid.uuid4().hex,
                "body": "my transfer is still pending",
            },
        )
    assert r.status_code == 201, r.text
    return r.json()


def decision(live_api, decision_id: str) -> tuple[str | None, float]:
    with psycopg.connect(live_api.database_url) as conn:
        model, cost = conn.execute(
            "SELECT model, cost_usd FROM decisions WHERE id = %s", (decision_id,)
        ).fetchone()  # type: ignore[misc]
    return model, float(cost)


def bill_as_estimated(live_api, fake_openai, probe: dict) -> None:
    """Have the fake server bill each call what the budget's hold estimated for it (the whole
    bound: the prompt as counted with its margin, every completion token), so that a ticket
    costs what it holds and the levels below are reached in the ticket counts they name."""
    with psycopg.connect(live_api.database_url) as conn:
        (output,) = conn.execute(
            "SELECT output FROM trace_spans WHERE decision_id = %s AND name = 'classify'",
            (probe["decision_id"],),
        ).fetchone()  # type: ignore[misc]
    per_call = output["estimated_cost_usd"] / 2  # an answer and one sample
    prompt_price, completion_price = litellm.cost_per_token(
        model=PRIMARY, prompt_tokens=1, completion_tokens=1
    )
    prompt = int((per_call - 64 * completion_price) / prompt_price)
    for model in ("gpt-4o", "gpt-4o-mini"):
        fake_openai.script(model, then=Reply(ANSWER, prompt_tokens=prompt, completion_tokens=64))


def test_a_tenant_is_alerted_then_downgraded_then_handed_to_humans(live_api, fake_openai):
    semver = f"4.0.{uuid.uuid4().int % 100000}"
    promote(
        live_api,
        semver,
        classifier="llm",
        model=PRIMARY,
        fallback_model=CHEAPER,
        params={
            "k": 15,
            "llm": {
                "api_base": fake_openai.base_url,
                "fallback_api_base": fake_openai.base_url,
                "max_retries": 0,
                "probability_method": "samples",
                "samples_k": 1,
            },
        },
    )
    fake_openai.script("gpt-4o", then=Reply(ANSWER))
    fake_openai.script("gpt-4o-mini", then=Reply(ANSWER))
    try:
        bill_as_estimated(live_api, fake_openai, submit(live_api, tenant_with(live_api, None)))
        probe = submit(live_api, tenant_with(live_api, None))
        model, per_ticket = decision(live_api, probe["decision_id"])
        assert model and per_ticket > 0
        key = tenant_with(live_api, round(per_ticket * 3.1, 8))  # 3 tickets reach ~97%
        full = [submit(live_api, key) for _ in range(3)]
        assert all(decision(live_api, r["decision_id"])[0] == "openai/gpt-4o" for r in full)
        cheaper = submit(live_api, key)
        assert decision(live_api, cheaper["decision_id"])[0] == "openai/gpt-4o-mini"
        calls = fake_openai.count()
        while True:  # the cheaper model's spend reaches 100%
            route = submit(live_api, key)
            if route["mode"] == "budget":
                break
        assert route["routed_to"] == "human_triage" and "budget" in route["reason"]
        assert fake_openai.count() - calls <= 2 * 200  # bounded, and no call for the last one
        before = fake_openai.count()
        assert submit(live_api, key)["mode"] == "budget" and fake_openai.count() == before
        with psycopg.connect(live_api.database_url) as conn:
            rules = {
                r[0] for r in conn.execute("SELECT rule FROM alerts WHERE rule LIKE 'budget_%%'")
            }
        assert {"budget_degrade", "budget_exhausted"} <= rules
    finally:
        promote(live_api, live_api.setup.version)
