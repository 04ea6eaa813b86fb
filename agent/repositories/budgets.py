"""Budget reservations: model spend held for calls in flight (``budget_reservations``).

:func:`lock_tenant` then :func:`hold` run in one transaction on a per-ticket pool connection
(the budget service opens it): the tenant's row lock makes the check and the insert of
concurrent reservations one at a time, and each sees the others' holds. The row lock is
``FOR NO KEY UPDATE``, which does not block the inserts of the tenant's tickets (their foreign
key takes ``FOR KEY SHARE``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import psycopg

from agent.repositories.decisions import MONTH_SPEND

HOLD = f"""
WITH spent AS ({MONTH_SPEND}),
held AS (
  SELECT coalesce(sum(amount_usd), 0) AS usd FROM budget_reservations
  WHERE tenant_id = %(tenant_id)s AND expires_at > now()),
taken AS (
  INSERT INTO budget_reservations (id, tenant_id, ticket_id, amount_usd, expires_at)
  SELECT %(id)s, %(tenant_id)s, %(ticket_id)s, %(amount)s::numeric,
         now() + make_interval(secs => %(ttl_s)s::float8)
  FROM spent, held
  WHERE spent.usd + held.usd + %(amount)s::numeric <= %(budget)s::numeric
  RETURNING id)
SELECT spent.usd::float8, held.usd::float8, EXISTS (SELECT 1 FROM taken) FROM spent, held"""


async def lock_tenant(conn: psycopg.AsyncConnection[Any], tenant_id: uuid.UUID) -> float | None:
    """Lock the tenant's row until the transaction ends; its monthly budget (None: no cap)."""
    cur = await conn.execute(
        "SELECT monthly_budget_usd FROM tenants WHERE id = %s FOR NO KEY UPDATE", (tenant_id,)
    )
    row = await cur.fetchone()
    return float(row[0]) if row and row[0] is not None else None


async def sweep_expired(conn: psycopg.AsyncConnection[Any], tenant_id: uuid.UUID) -> int:
    """Delete the tenant's holds that expired (left by crashed calls); how many."""
    cur = await conn.execute(
        "DELETE FROM budget_reservations WHERE tenant_id = %s AND expires_at <= now()",
        (tenant_id,),
    )
    return cur.rowcount


async def hold(
    conn: psycopg.AsyncConnection[Any],
    *,
    reservation_id: uuid.UUID,
    tenant_id: uuid.UUID,
    ticket_id: uuid.UUID,
    amount_usd: Decimal,
    budget_usd: float,
    ttl_s: float,
) -> tuple[float, float, bool]:
    """Insert the hold if this month's spend, the live holds and it fit the budget:
    ``(spent, held before this one, granted)``."""
    cur = await conn.execute(
        HOLD,
        {
            "id": reservation_id,
            "tenant_id": tenant_id,
            "ticket_id": ticket_id,
            "amount": amount_usd,
            "budget": Decimal(str(budget_usd)),
            "ttl_s": ttl_s,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return float(row[0]), float(row[1]), bool(row[2])


async def release(conn: psycopg.AsyncConnection[Any], reservation_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM budget_reservations WHERE id = %s", (reservation_id,))
