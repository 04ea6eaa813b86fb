"""Who may call the API (tenants) and who may use the UI (users)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, false
from sqlalchemy.orm import Mapped, mapped_column

from agent.models.base import Base, created_at, tstz, uuid_pk

ROLES = ("reviewer", "operator", "admin")
SLUG_PATTERN = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"


class Tenant(Base):
    """An API client (an upstream helpdesk). Its API key is stored only as a SHA-256 hash."""

    __tablename__ = "tenants"
    __table_args__ = (CheckConstraint(f"slug ~ '{SLUG_PATTERN}'", name="slug"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(16))
    rate_limit_per_minute: Mapped[int] = mapped_column(default=6000)
    monthly_budget_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    created_at: Mapped[datetime] = created_at()
    disabled_at: Mapped[datetime | None] = tstz(nullable=True)
    # The public ticket portal (/portal/<slug>): off until an operator enables it.
    slug: Mapped[str | None] = mapped_column(String(63), unique=True)
    portal_enabled_at: Mapped[datetime | None] = tstz(nullable=True)
    portal_show_queue: Mapped[bool] = mapped_column(default=False, server_default=false())


class BudgetReservation(Base):
    """Model spend held for a call in flight, so concurrent calls cannot all spend the budget's
    last dollar (``agent/services/budgets.py``). Taken before the call from the classifier's
    cost estimate; deleted by the statement that records the decision (whose ``cost_usd``
    then counts instead), or released when the call raises; one a crashed process leaves
    behind stops counting at ``expires_at`` and is swept by the tenant's next reservation."""

    __tablename__ = "budget_reservations"
    __table_args__ = (
        Index("ix_budget_reservations_tenant_id_expires_at", "tenant_id", "expires_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    amount_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = tstz()


class TenantSpend(Base):
    """A tenant's model cost in one calendar month (UTC): what its budget is checked against.
    A trigger on ``decisions`` adds each decision's ``cost_usd`` as it is inserted (migration
    ``c3d7b0d9e012``), so it is the sum of the month's decisions without summing them."""

    __tablename__ = "tenant_spend"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    spent_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6))


class ShadowSpend(Base):
    """The model cost of a shadow version's runs in one calendar month (UTC), kept by the same
    trigger as ``tenant_spend`` (migration ``5d0a3c1e7b15``): a shadow never spends a tenant's
    budget; it has its own (``shadow_monthly_budget_usd``)."""

    __tablename__ = "shadow_spend"

    agent_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent_versions.id"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    spent_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6))


class User(Base):
    """A person using the review UI: reviewer, operator or admin."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str]
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_at()
    disabled_at: Mapped[datetime | None] = tstz(nullable=True)
    last_login_at: Mapped[datetime | None] = tstz(nullable=True)
