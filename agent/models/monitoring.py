"""The monitor's own state: reference periods, cached calibrations, webhook deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Identity,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from agent.models.base import Base, created_at, tstz, uuid_pk

REFERENCE_KINDS = ("traffic", "history")


class MonitorReference(Base):
    """The period of traffic that windows are compared with.

    ``traffic``: the decisions of ``agent_version_id`` on tickets received in
    [starts_at, ends_at). ``history``: the labelled history (outcomes from ``load-history``)
    recorded before ``ends_at``, used until a version has traffic of its own.
    """

    __tablename__ = "monitor_references"
    __table_args__ = (
        CheckConstraint(f"kind IN {REFERENCE_KINDS!r}", name="kind"),
        Index("ix_monitor_references_version_active", "agent_version_id", "active", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_version_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agent_versions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime | None] = tstz(nullable=True)
    ends_at: Mapped[datetime] = tstz()
    n_tickets: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime] = created_at()


class MonitorCalibration(Base):
    """Bootstrap null values of every signal per reference, segment and size bucket.

    Expensive to compute (tens of seconds), cheap to reuse: thresholds at any false-alarm rate
    follow from ``null_values`` and ``offsets``. ``signature`` names what the replicates depend
    on besides the key (replicates, signals, the reference's labelled counts); a different
    signature means a stale row.
    """

    __tablename__ = "monitor_calibrations"
    __table_args__ = (UniqueConstraint("reference_id", "segment", "n_bucket"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    reference_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("monitor_references.id", ondelete="CASCADE")
    )
    segment: Mapped[str] = mapped_column(String(150))
    n_bucket: Mapped[int]
    n_reference: Mapped[int]
    replicates: Mapped[int]
    signature: Mapped[str] = mapped_column(String(64))
    null_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    offsets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seconds: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime] = created_at()


class AlertDelivery(Base):
    """One attempt to deliver an alert event to the webhook."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_alert_id", "alert_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(50))
    delivery_id: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(2000))
    attempt: Mapped[int]
    status_code: Mapped[int | None]
    error: Mapped[str | None]
    delivered: Mapped[bool]
    attempted_at: Mapped[datetime] = created_at()
