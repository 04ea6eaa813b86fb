"""Aggregates for the dashboards: signal series, volume by route and mode, cost and latency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision, SignalValue

ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
SEQUENTIAL = "evidence_sequential"  # the monitor's per-window CUSUM row


def _bucket(column: Any, bucket: timedelta) -> Any:
    return func.date_bin(literal(bucket), column, literal(ORIGIN)).label("bucket")


async def signal_segments(session: AsyncSession) -> list[Any]:
    """(segment, window_size_s) pairs the monitor has written, most populated first."""
    stmt = (
        select(SignalValue.segment, SignalValue.window_size_s, func.count())
        .group_by(SignalValue.segment, SignalValue.window_size_s)
        .order_by(func.count().desc())
        .limit(500)
    )
    return list((await session.execute(stmt)).all())


async def latest_sequential(session: AsyncSession) -> list[SignalValue]:
    """Each alert stream's latest sequential-evidence row (it carries the stream's budget)."""
    stmt = (
        select(SignalValue)
        .where(SignalValue.signal == SEQUENTIAL, SignalValue.insufficient.is_(False))
        .order_by(SignalValue.segment, SignalValue.window_size_s, SignalValue.window_end.desc())
        .distinct(SignalValue.segment, SignalValue.window_size_s)
        .limit(500)
    )
    return list((await session.scalars(stmt)).all())


async def signal_series(
    session: AsyncSession, *, segment: str, window_size_s: int, since: datetime
) -> list[SignalValue]:
    stmt = (
        select(SignalValue)
        .where(
            SignalValue.segment == segment,
            SignalValue.window_size_s == window_size_s,
            SignalValue.window_end >= since,
        )
        .order_by(SignalValue.signal, SignalValue.window_end)
    )
    return list((await session.execute(stmt)).scalars())


async def volume(
    session: AsyncSession, *, since: datetime, bucket: timedelta, by: str
) -> list[Any]:
    """(bucket, key, count) of final decisions; ``by`` is ``mode`` or ``routed_to``."""
    key = getattr(Decision, by).label("key")
    b = _bucket(Decision.created_at, bucket)
    stmt = (
        select(b, key, func.count())
        .where(Decision.is_final, Decision.created_at >= since)
        .group_by(b, key)
        .order_by(b)
    )
    return list((await session.execute(stmt)).all())


async def cost_latency(session: AsyncSession, *, since: datetime, bucket: timedelta) -> list[Any]:
    """(bucket, n, cost, p50, p95, p99 latency ms) of final decisions."""
    b = _bucket(Decision.created_at, bucket)
    stmt = (
        select(
            b,
            func.count(),
            func.coalesce(func.sum(Decision.cost_usd), 0),
            func.percentile_cont(0.5).within_group(Decision.latency_ms),
            func.percentile_cont(0.95).within_group(Decision.latency_ms),
            func.percentile_cont(0.99).within_group(Decision.latency_ms),
        )
        .where(Decision.is_final, Decision.created_at >= since)
        .group_by(b)
        .order_by(b)
    )
    return list((await session.execute(stmt)).all())
