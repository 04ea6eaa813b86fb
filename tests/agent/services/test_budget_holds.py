"""Budget holds on a real Postgres: granted while they fit, released when a call raises,
settled by the decision's record, and swept once a crashed call's hold expires."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from agent.budgets import BudgetLevel
from agent.db import make_pool
from agent.models.tickets import DECISION_COLUMNS
from agent.repositories import decisions
from agent.services.budgets import TenantBudgets

BUDGET = 1.0


def tenant_and_ticket(url: str) -> tuple[str, str]:
    tenant, ticket = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, api_key_hash, api_key_prefix, rate_limit_per_minute, "
            "monthly_budget_usd) VALUES (%s, %s, %s, 'tw_', 6000, %s)",
            (tenant, f"holds-{tenant.hex[:6]}", tenant.hex * 2, BUDGET),
        )
        conn.execute(
            "INSERT INTO tickets (id, tenant_id, source, external_id, subject, body, channel, "
            "metadata, received_at) "
            "VALUES (%s, %s, 'tests', %s, '', 'my card', 'web', '{}', now())",
            (ticket, tenant, ticket.hex),
        )
    return str(tenant), str(ticket)


def holds(url: str) -> list[float]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT amount_usd::float8 FROM budget_reservations ORDER BY 1")
        return [r[0] for r in rows]


async def with_budgets(url: str, body) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(url, size=4, statement_timeout_ms=5000, wait_timeout_s=5)
    await pool.open()
    try:
        await body(TenantBudgets(pool, None, warn=0.8, degrade=0.95), pool)
    finally:
        await pool.close()


def test_holds_are_granted_while_they_fit_and_released_on_request(fresh_db_url):
    tenant, ticket = tenant_and_ticket(fresh_db_url)

    async def body(budgets: TenantBudgets, pool: AsyncConnectionPool) -> None:
        first = await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.6)
        assert first.granted and first.reservation_id is not None
        second = await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.6)
        assert not second.granted  # 0.6 held + 0.6 asked > 1.0
        assert second.status.level is BudgetLevel.EXHAUSTED
        assert second.status.spent_usd == pytest.approx(0.6)  # spent or held
        await budgets.release(first)
        third = await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.6)
        assert third.granted

    asyncio.run(with_budgets(fresh_db_url, body))
    assert holds(fresh_db_url) == [0.6]


def test_a_crashed_calls_hold_stops_counting_when_it_expires_and_is_swept(fresh_db_url):
    tenant, ticket = tenant_and_ticket(fresh_db_url)

    async def body(budgets: TenantBudgets, pool: AsyncConnectionPool) -> None:
        crashed = await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.9)
        assert crashed.granted  # ...and nothing settles it: the process died
        refused = await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.2)
        assert not refused.granted
        with psycopg.connect(fresh_db_url) as conn:  # its ttl passes
            conn.execute("UPDATE budget_reservations SET expires_at = now() - interval '1 s'")
        later = await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.2)
        assert later.granted

    asyncio.run(with_budgets(fresh_db_url, body))
    assert holds(fresh_db_url) == [0.2]  # the expired hold was deleted, not just ignored


def test_recording_the_decision_settles_the_hold_with_the_actual_cost(fresh_db_url):
    tenant, ticket = tenant_and_ticket(fresh_db_url)

    async def body(budgets: TenantBudgets, pool: AsyncConnectionPool) -> None:
        hold = await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.5)
        assert hold.reservation_id is not None
        async with pool.connection() as conn:  # the recorder's statement
            await decisions.record(
                conn,
                decision=decision_row(ticket, cost=Decimal("0.125")),
                spans=[],
                trace_id="t",
                embedding=None,
                embedding_model="m",
                reservation_id=uuid.UUID(hold.reservation_id),
            )
            assert await decisions.month_spend_usd(conn, uuid.UUID(tenant)) == 0.125
            (summed,) = await (
                await conn.execute(
                    "SELECT sum(cost_usd)::float8 FROM decisions WHERE ticket_id = %s", (ticket,)
                )
            ).fetchone()  # type: ignore[misc]
            assert summed == 0.125  # the ledger a trigger keeps is the sum of the decisions
        # 0.125 spent, nothing held: 0.875 fits, 0.9 does not
        assert not (
            await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.9)
        ).granted
        assert (await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.875)).granted

    asyncio.run(with_budgets(fresh_db_url, body))
    assert holds(fresh_db_url) == [0.875]


def test_a_tenant_without_a_budget_or_a_free_call_holds_nothing(fresh_db_url):
    tenant, ticket = tenant_and_ticket(fresh_db_url)

    async def body(budgets: TenantBudgets, pool: AsyncConnectionPool) -> None:
        free = await budgets.reserve(tenant_id=tenant, ticket_id=ticket, amount_usd=0.0)
        anonymous = await budgets.reserve(tenant_id=None, ticket_id=ticket, amount_usd=5.0)
        assert free.granted and anonymous.granted
        assert free.reservation_id is None and anonymous.reservation_id is None

    asyncio.run(with_budgets(fresh_db_url, body))
    assert holds(fresh_db_url) == []


def decision_row(ticket: str, *, cost: Decimal) -> dict:
    row: dict = dict.fromkeys(
        c for c in DECISION_COLUMNS if c not in ("is_final", "is_shadow", "created_at")
    )
    row.update(
        id=uuid.uuid4(),
        ticket_id=uuid.UUID(ticket),
        routed_to="cards",
        mode="agent",
        needs_review=False,
        sampled_for_review=False,
        inclusion_prob=1.0,
        queue_probs={},
        priority_probs={},
        prompt_tokens=0,
        completion_tokens=0,
        cost_usd=cost,
        latency_ms=1.0,
        stream="production",
    )
    return row
