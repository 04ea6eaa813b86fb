"""Kill switches, the audit log, monitor signal values and alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Float, Identity, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agent.models.base import Base, created_at, tstz, uuid_pk

ALERT_STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("info", "warning", "critical")


class Switch(Base):
    """A kill switch: ``global`` or a segment such as ``channel:email`` or ``queue:cards``."""

    __tablename__ = "switches"

    key: Mapped[str] = mapped_column(String(150), primary_key=True)
    enabled: Mapped[bool]
    reason: Mapped[str] = mapped_column(default="")
    actor: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = created_at()


class ReviewBoost(Base):
    """A raised review-sampling rate for a segment (a monitor action or an operator's)."""

    __tablename__ = "review_boosts"
    __table_args__ = (CheckConstraint("rate > 0 AND rate <= 1", name="rate"),)

    segment: Mapped[str] = mapped_column(String(150), primary_key=True)
    rate: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[datetime | None] = tstz(nullable=True)
    reason: Mapped[str] = mapped_column(default="")
    actor: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = created_at()


class AuditEntry(Base):
    """Every operator action. Append-only: a trigger rejects UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = created_at()
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SignalValue(Base):
    """One signal's value for one window and segment. Recomputing a window upserts the row."""

    __tablename__ = "signal_values"
    __table_args__ = (
        UniqueConstraint("window_size_s", "window_end", "segment", "signal"),
        Index("ix_signal_values_signal_segment", "signal", "segment", "window_end"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    window_size_s: Mapped[int]
    window_start: Mapped[datetime] = tstz()
    window_end: Mapped[datetime] = tstz()
    segment: Mapped[str] = mapped_column(String(150))
    signal: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    p_value: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int]
    n_reference: Mapped[int] = mapped_column(default=0)
    drifted: Mapped[bool | None]
    insufficient: Mapped[bool] = mapped_column(default=False)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[datetime] = created_at()


class Alert(Base):
    """A fired alert with its evidence, explanation and the actions taken."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(f"status IN {ALERT_STATUSES!r}", name="status"),
        CheckConstraint(f"severity IN {SEVERITIES!r}", name="severity"),
        Index("ix_alerts_status_opened_at", "status", "opened_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    rule: Mapped[str] = mapped_column(String(100))
    segment: Mapped[str] = mapped_column(String(150))
    window_size_s: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="open")
    severity: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    opened_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = created_at()
    last_window_end: Mapped[datetime] = tstz()
    clean_windows: Mapped[int] = mapped_column(default=0)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = tstz(nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
