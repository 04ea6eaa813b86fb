"""Simulated reviewers: they work the review queue with the true labels in hand.

The review queue holds what the API put there: every decision the agent flagged and a random
``review_sample_rate`` share of confident ones (each with its inclusion probability). Reviewers
take ``coverage`` of it, confirm a right route and override a wrong one with the true queue and
priority, through the review UI's own service (so reviews, overrides, outcomes and the audit
log are written exactly as when a person clicks).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent.config import Settings
from agent.db import async_session_scope, make_async_engine
from agent.repositories import decisions
from evals.replay.traffic import Routed
from review_ui.services.review import ReviewError, confirm, override
from review_ui.services.users import UserRef

_ALTERED_REASON = {"new_product": "new_product", "priority": "policy_change"}


def override_reason(
    *, agent: tuple[str | None, str | None], truth: tuple[str, str], altered: str | None
) -> str | None:
    """None when the agent's route is right, else the reason a reviewer would pick."""
    if agent == truth:
        return None
    if altered in _ALTERED_REASON:
        return _ALTERED_REASON[altered]
    wrong_queue, wrong_priority = agent[0] != truth[0], agent[1] != truth[1]
    if wrong_queue and wrong_priority:
        return "wrong_both"
    return "wrong_queue" if wrong_queue else "wrong_priority"


async def _review(
    url: str,
    settings: Settings,
    routed: Sequence[Routed],
    reviewer: UserRef,
    coverage: float,
    rng: np.random.Generator,
) -> Counter[str]:
    done: Counter[str] = Counter()
    engine = make_async_engine(url, settings, application_name="ticketwatch-replay-reviewers")
    try:
        async with async_session_scope(async_sessionmaker(engine, expire_on_commit=False)) as s:
            for r in routed:
                decision = await decisions.final_for(s, r.ticket_id)
                if decision is None or not decision.sampled_for_review:
                    continue
                if rng.random() >= coverage:
                    done["skipped"] += 1
                    continue
                truth = (r.ticket.queue, r.ticket.priority)
                reason = override_reason(
                    agent=(decision.queue, decision.priority), truth=truth, altered=r.ticket.altered
                )
                try:
                    if reason is None:
                        await confirm(s, ticket_id=r.ticket_id, user=reviewer)
                    else:
                        await override(
                            s,
                            ticket_id=r.ticket_id,
                            user=reviewer,
                            queue=truth[0],
                            priority=truth[1],
                            reason=reason,
                        )
                except ReviewError:
                    done["refused"] += 1
                    continue
                done["overridden" if reason else "confirmed"] += 1
    finally:
        await engine.dispose()
    return done


def review_window(
    url: str,
    settings: Settings,
    routed: Sequence[Routed],
    *,
    reviewer: UserRef,
    coverage: float,
    rng: np.random.Generator,
) -> Counter[str]:
    """Review the queued decisions among ``routed``; counts of confirmed/overridden/skipped."""
    return asyncio.run(_review(url, settings, routed, reviewer, coverage, rng))
