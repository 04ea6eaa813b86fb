"""Monthly model-cost budgets per tenant (DESIGN §3): at 80% an alert, at 95% the cheaper
fallback model, at 100% human routing.

Postgres is the truth: ``tenant_spend``, the month's ``decisions.cost_usd`` of the tenant's
tickets, added up by a trigger as each decision is written. Redis keeps a running total per
tenant and month that every process adds to, seeded from Postgres on first use, which sets the
level. Without Redis the total is read from Postgres (at most every few
seconds per tenant).

Before a model call, :meth:`TenantBudgets.reserve` holds the classifier's cost estimate (an
upper bound) in Postgres: granted only while the month's spend, the holds of calls in flight
and this one fit the budget, checked and inserted under the tenant's row lock. Recording the
decision deletes the hold in the same statement (its actual cost counts instead); a call that
raises releases it; a crashed process's hold expires after ``ttl_s`` and is swept. Concurrent
calls near the limit therefore stay within it (within one call's cost where an estimate falls
short of the actual cost).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent.budgets import NO_HOLD, UNLIMITED, BudgetHold, BudgetLevel, BudgetStatus, level_for
from agent.repositories import budgets, decisions, operations, tenants

log = logging.getLogger(__name__)


class TenantBudgets:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        redis: Redis | None,
        *,
        warn: float,
        degrade: float,
        cache_s: float = 5.0,
        reservation_ttl_s: float = 300.0,
    ) -> None:
        self._pool, self._redis = pool, redis
        self._ttl_s = reservation_ttl_s
        self._warn, self._degrade, self._cache_s = warn, degrade, cache_s
        self._budgets: dict[str, tuple[float, float | None]] = {}
        self._spent: dict[str, tuple[float, float]] = {}

    @staticmethod
    def _key(tenant_id: str) -> str:
        return f"ticketwatch:spend:{tenant_id}:{datetime.now(UTC):%Y%m}"

    async def status(self, tenant_id: str | None) -> BudgetStatus:
        if tenant_id is None:
            return UNLIMITED
        budget = await self._budget(tenant_id)
        if budget is None:
            return UNLIMITED
        spent = await self._spent_usd(tenant_id)
        return BudgetStatus(
            level_for(spent, budget, warn=self._warn, degrade=self._degrade), spent, budget
        )

    async def reserve(
        self, *, tenant_id: str | None, ticket_id: str, amount_usd: float
    ) -> BudgetHold:
        """Hold ``amount_usd`` for a model call, or refuse it (the budget cannot cover it)."""
        if tenant_id is None or amount_usd <= 0 or await self._budget(tenant_id) is None:
            return NO_HOLD
        tenant, hold_id = uuid.UUID(tenant_id), uuid.uuid4()
        amount = Decimal(str(amount_usd)).quantize(Decimal("0.000001"), rounding=ROUND_CEILING)
        async with self._pool.connection() as conn, conn.transaction():
            budget = await budgets.lock_tenant(conn, tenant)
            if budget is None:
                return NO_HOLD
            await budgets.sweep_expired(conn, tenant)
            spent, held, granted = await budgets.hold(
                conn,
                reservation_id=hold_id,
                tenant_id=tenant,
                ticket_id=uuid.UUID(ticket_id),
                amount_usd=amount,
                budget_usd=budget,
                ttl_s=self._ttl_s,
            )
        if not granted:
            return await self._refused(tenant_id, spent + held, budget, amount_usd)
        level = level_for(spent + held, budget, warn=self._warn, degrade=self._degrade)
        return BudgetHold(True, str(hold_id), BudgetStatus(level, spent + held, budget))

    async def _refused(
        self, tenant_id: str, committed: float, budget: float, asked: float
    ) -> BudgetHold:
        """No model for this call: spend and holds leave no room for its estimate. Operators
        hear of it through the month's ``budget_exhausted`` alert."""
        log.info(
            "tenant %s: model call refused by the budget (%.6f spent or held, %.6f asked, "
            "%.6f USD budget)",
            tenant_id,
            committed,
            asked,
            budget,
        )
        status = BudgetStatus(BudgetLevel.EXHAUSTED, committed, budget)
        try:
            await self._alert(tenant_id, status)
        except Exception as exc:  # noqa: BLE001 - the refusal stands without its alert
            log.error("budget alert for tenant %s not opened: %s", tenant_id, exc)
        return BudgetHold(False, None, status)

    async def release(self, hold: BudgetHold) -> None:
        """Give a hold back now (its call raised); failing that, it expires."""
        if hold.reservation_id is None:
            return
        try:
            async with self._pool.connection() as conn:
                await budgets.release(conn, uuid.UUID(hold.reservation_id))
        except Exception as exc:  # noqa: BLE001 - the call's own error is the one to report
            log.warning("budget hold %s left to expire: %s", hold.reservation_id, exc)

    async def add(self, tenant_id: str | None, cost_usd: float) -> None:
        """Count a decision's cost (call after it is stored); alert on crossing a level."""
        await self._count(tenant_id, cost_usd)
        if tenant_id is not None and cost_usd > 0:
            status = await self.status(tenant_id)
            if status.level is not BudgetLevel.OK:
                await self._alert(tenant_id, status)

    async def _alert(self, tenant_id: str, status: BudgetStatus) -> None:
        """One alert per tenant, month and level, in the alerts the operators already watch."""
        severity = "warning" if status.level is BudgetLevel.WARN else "critical"
        rule = f"budget_{status.level.value}"
        async with self._pool.connection() as conn:
            await operations.open_budget_alert(
                conn,
                rule=rule,
                segment=f"tenant:{tenant_id}",
                severity=severity,
                score=status.spent_usd,
                threshold=status.budget_usd,
                evidence={
                    "spent_usd": status.spent_usd,
                    "budget_usd": status.budget_usd,
                    "level": status.level.value,
                    "summary": f"tenant has spent {status.spent_usd:.4f} of "
                    f"{status.budget_usd:.4f} USD this month",
                },
            )
        log.warning(
            "tenant %s budget level %s (%.4f of %.4f USD)",
            tenant_id,
            status.level.value,
            status.spent_usd,
            status.budget_usd,
        )

    async def _count(self, tenant_id: str | None, cost_usd: float) -> None:
        if tenant_id is None or cost_usd <= 0 or await self._budget(tenant_id) is None:
            return
        self._spent.pop(tenant_id, None)
        if self._redis is None:
            return
        try:
            key = self._key(tenant_id)
            if await self._redis.exists(key):
                await self._redis.incrbyfloat(key, cost_usd)
            else:
                await self._seed(tenant_id, key)
        except (RedisError, OSError) as exc:
            log.warning("budget counter not updated (redis): %s", type(exc).__name__)

    async def _budget(self, tenant_id: str) -> float | None:
        hit = self._budgets.get(tenant_id)
        if hit is not None and time.monotonic() - hit[0] < 30:
            return hit[1]
        async with self._pool.connection() as conn:
            budget = await tenants.monthly_budget_usd(conn, uuid.UUID(tenant_id))
        self._budgets[tenant_id] = (time.monotonic(), budget)
        return budget

    async def _spent_usd(self, tenant_id: str) -> float:
        if self._redis is not None:
            try:
                key = self._key(tenant_id)
                value: Any = await self._redis.get(key)
                if value is None:
                    value = await self._seed(tenant_id, key)
                return float(value)
            except (RedisError, OSError) as exc:
                log.warning("budget read from postgres (redis unreachable): %s", type(exc).__name__)
        hit = self._spent.get(tenant_id)
        if hit is not None and time.monotonic() - hit[0] < self._cache_s:
            return hit[1]
        spent = await self._from_postgres(tenant_id)
        self._spent[tenant_id] = (time.monotonic(), spent)
        return spent

    async def _from_postgres(self, tenant_id: str) -> float:
        async with self._pool.connection() as conn:
            return await decisions.month_spend_usd(conn, uuid.UUID(tenant_id))

    async def _seed(self, tenant_id: str, key: str) -> float:
        """Set the month's counter from Postgres unless another process just did."""
        assert self._redis is not None
        spent = await self._from_postgres(tenant_id)
        await self._redis.set(key, spent, nx=True, ex=40 * 86400)
        value = await self._redis.get(key)
        return float(value) if value is not None else spent
