"""Disagreement with reviewers and estimated accuracy, weighted back to all decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent.estimates import RateEstimate, accuracy, disagreement_rate
from agent.repositories import reviews


@dataclass(frozen=True)
class ReviewEstimates:
    """Over the agent's decisions made in a period (kill-switch routes have no prediction)."""

    disagreement: RateEstimate
    queue_accuracy: RateEstimate
    since: datetime
    until: datetime


def estimate(rows: Sequence[Any], since: datetime, until: datetime) -> ReviewEstimates:
    probs = [r.inclusion_prob for r in rows]
    return ReviewEstimates(
        disagreement=disagreement_rate([r.verdict == "overridden" for r in rows], probs),
        queue_accuracy=accuracy([bool(r.queue_correct) for r in rows], probs),
        since=since,
        until=until,
    )


async def review_estimates(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    segment: tuple[str, str] | None = None,
) -> ReviewEstimates:
    rows = await reviews.reviewed_decisions(session, since=since, until=until, segment=segment)
    return estimate(rows, since, until)


async def daily_estimates(
    session: AsyncSession, *, until: datetime, days: int, segment: tuple[str, str] | None = None
) -> list[ReviewEstimates]:
    """One estimate per day (by when the agent decided), oldest first."""
    since = until - timedelta(days=days)
    rows = await reviews.reviewed_decisions(session, since=since, until=until, segment=segment)
    out = []
    for day in range(days):
        start = since + timedelta(days=day)
        end = start + timedelta(days=1)
        out.append(estimate([r for r in rows if start <= r.created_at < end], start, end))
    return out
