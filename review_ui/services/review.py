"""Reviewing a decision: confirm the agent's route, or override it with a reason.

A review is the denominator of the disagreement estimate (confirmations count); an override
also becomes the ticket's outcome, so history and the kNN retrieval learn from it, unless the
helpdesk has reported the ticket's final route, which stays the outcome (the review is kept
beside it, and the audit entry says which outcome counts: ``agent/services/outcomes.py``).
Both are audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Decision
from agent.models.tickets import OVERRIDE_REASONS
from agent.repositories import catalog, decisions, history, reviews
from agent.services.operators import audit
from agent.taxonomy import PRIORITIES, UNKNOWN, Taxonomy
from review_ui.services.users import UserRef

REASON_LABELS = {
    "wrong_queue": "Wrong queue",
    "wrong_priority": "Wrong priority",
    "wrong_both": "Wrong queue and priority",
    "new_product": "New product or feature",
    "policy_change": "Policy change",
    "ambiguous_ticket": "Ambiguous ticket",
    "spam_or_abuse": "Spam or abuse",
    "other": "Other (explain in the note)",
}
assert set(REASON_LABELS) == set(OVERRIDE_REASONS)
MAX_NOTE_CHARS = 2000


class ReviewError(ValueError):
    """A review that cannot be recorded as asked; the message says why."""


@dataclass(frozen=True)
class ReviewResult:
    decision_id: uuid.UUID
    verdict: str


async def taxonomy_for(session: AsyncSession, decision: Decision) -> Taxonomy | None:
    """The taxonomy the decision was made under, else production's."""
    version_id = decision.agent_version_id
    if version_id is None:
        production = {row.label: row for row in await catalog.labels(session)}.get("production")
        version_id = production.agent_version_id if production else None
    version = await catalog.get_version(session, version_id) if version_id else None
    record = await catalog.get_taxonomy(session, version.taxonomy_id) if version else None
    return Taxonomy.model_validate(record.definition) if record else None


async def confirm(session: AsyncSession, *, ticket_id: uuid.UUID, user: UserRef) -> ReviewResult:
    """The agent's route was right."""
    decision = await _open_decision(session, ticket_id)
    if decision.queue in (None, UNKNOWN) or decision.priority is None:
        raise ReviewError("the agent made no route to confirm: choose a queue and priority")
    return await _record(
        session, decision, user, queue=decision.queue, priority=decision.priority, reason=None
    )


async def override(
    session: AsyncSession,
    *,
    ticket_id: uuid.UUID,
    user: UserRef,
    queue: str,
    priority: str,
    reason: str,
    note: str = "",
) -> ReviewResult:
    """Route the ticket as the reviewer says. Choosing the agent's own route confirms it."""
    decision = await _open_decision(session, ticket_id)
    taxonomy = await taxonomy_for(session, decision)
    if taxonomy is not None and queue not in taxonomy.queue_names:
        raise ReviewError(f"queue {queue!r} is not in taxonomy {taxonomy.name}")
    if priority not in PRIORITIES:
        raise ReviewError(f"priority must be one of {', '.join(PRIORITIES)}")
    if (queue, priority) == (decision.queue, decision.priority):
        return await _record(session, decision, user, queue=queue, priority=priority, reason=None)
    if reason not in OVERRIDE_REASONS:
        raise ReviewError("choose a reason for the override")
    if reason == "other" and not note.strip():
        raise ReviewError("say in the note why, when the reason is 'other'")
    if len(note) > MAX_NOTE_CHARS:
        raise ReviewError(f"the note is longer than {MAX_NOTE_CHARS} characters")
    return await _record(
        session, decision, user, queue=queue, priority=priority, reason=reason, note=note
    )


async def _open_decision(session: AsyncSession, ticket_id: uuid.UUID) -> Decision:
    decision = await decisions.final_for(session, ticket_id)
    if decision is None:
        raise ReviewError("this ticket has no decision yet")
    existing = await reviews.for_decision(session, decision.id)
    if existing is not None:
        raise ReviewError("this decision has been reviewed already")
    return decision


async def _record(
    session: AsyncSession,
    decision: Decision,
    user: UserRef,
    *,
    queue: str,
    priority: str,
    reason: str | None,
    note: str = "",
) -> ReviewResult:
    predicted = decision.queue is not None
    verdict = "confirmed" if reason is None else "overridden"
    await reviews.add_review(
        session,
        decision_id=decision.id,
        ticket_id=decision.ticket_id,
        reviewer_id=user.id,
        verdict=verdict,
        inclusion_prob=min(1.0, max(decision.inclusion_prob or 1.0, 1e-6)),
        needs_review=decision.needs_review,
        queue_correct=(decision.queue == queue) if predicted else None,
        priority_correct=(decision.priority == priority) if decision.priority else None,
    )
    if reason is not None:
        await reviews.add_override(
            session,
            ticket_id=decision.ticket_id,
            decision_id=decision.id,
            reviewer_id=user.id,
            old_queue=decision.queue,
            old_priority=decision.priority,
            new_queue=queue,
            new_priority=priority,
            reason_category=reason,
            note=note.strip(),
        )
    outcome = await history.for_ticket(session, decision.ticket_id)
    helpdesk = outcome is not None and outcome.source == "helpdesk"
    if reason is not None or outcome is None:
        await history.upsert(
            session,
            ticket_id=decision.ticket_id,
            queue=queue,
            priority=priority,
            source="override",
            recorded_by=f"user:{user.username}",
            unless_source="helpdesk",  # the helpdesk's final route stays the outcome
        )
    await audit(
        session,
        user.actor,
        f"review.{'override' if reason else 'confirm'}",
        str(decision.ticket_id),
        decision_id=str(decision.id),
        old=[decision.queue, decision.priority],
        new=[queue, priority],
        reason=reason,
        note=note.strip()[:200],
        outcome_kept=[outcome.queue, outcome.priority] if helpdesk and outcome else None,
    )
    return ReviewResult(decision.id, verdict)
