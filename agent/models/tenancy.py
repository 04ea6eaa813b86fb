"""Who may call the API (tenants) and who may use the UI (users)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from agent.models.base import Base, created_at, tstz, uuid_pk

ROLES = ("reviewer", "operator", "admin")


class Tenant(Base):
    """An API client (an upstream helpdesk). Its API key is stored only as a SHA-256 hash."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(16))
    rate_limit_per_minute: Mapped[int] = mapped_column(default=6000)
    monthly_budget_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    created_at: Mapped[datetime] = created_at()
    disabled_at: Mapped[datetime | None] = tstz(nullable=True)


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
