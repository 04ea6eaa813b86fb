"""Budget levels: pure rules shared by the graph and the budget service."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BudgetLevel(StrEnum):
    OK = "ok"
    WARN = "warn"  # ≥ warn fraction: operators are alerted
    DEGRADE = "degrade"  # ≥ degrade fraction: the version's cheaper fallback model serves
    EXHAUSTED = "exhausted"  # ≥ 100%: tickets go to human triage, no model is called


@dataclass(frozen=True)
class BudgetStatus:
    level: BudgetLevel
    spent_usd: float = 0.0
    budget_usd: float | None = None


UNLIMITED = BudgetStatus(BudgetLevel.OK)


@dataclass(frozen=True)
class BudgetHold:
    """The answer to a reservation: ``granted`` or not; ``reservation_id`` names the hold to
    settle (None where nothing was held: no budget, or a call that costs nothing); ``status``
    is the tenant's budget as the reservation saw it (exhausted when refused)."""

    granted: bool
    reservation_id: str | None = None
    status: BudgetStatus = UNLIMITED


NO_HOLD = BudgetHold(granted=True)


def level_for(spent: float, budget: float | None, *, warn: float, degrade: float) -> BudgetLevel:
    """Pure: which level ``spent`` out of ``budget`` is at."""
    if budget is None:
        return BudgetLevel.OK
    if spent >= budget:
        return BudgetLevel.EXHAUSTED
    if spent >= degrade * budget:
        return BudgetLevel.DEGRADE
    if spent >= warn * budget:
        return BudgetLevel.WARN
    return BudgetLevel.OK


class NoBudgets:
    """Budgets switched off (evaluations, tools): every tenant is unlimited."""

    async def status(self, tenant_id: str | None) -> BudgetStatus:
        return UNLIMITED

    async def reserve(
        self, *, tenant_id: str | None, ticket_id: str, amount_usd: float
    ) -> BudgetHold:
        return NO_HOLD

    async def release(self, hold: BudgetHold) -> None:
        return None
