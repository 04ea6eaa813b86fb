"""Reviews against the real database: verdicts, overrides, outcomes, audit, estimates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from agent.db import sqlalchemy_url
from agent.estimates import disagreement_rate
from agent.repositories import users
from agent.services.outcomes import record_helpdesk_outcome
from review_ui.services import review
from review_ui.services.estimates import review_estimates
from review_ui.services.users import UserRef
from tests.asyncdb import session_for
from tests.factories import make_decision, make_ticket
from tests.review_ui.seed import seed_version_and_users


@pytest.fixture
def seeded(fresh_db_url: str) -> Iterator[tuple[str, uuid.UUID]]:
    version_id = seed_version_and_users(fresh_db_url, {"rev": ("reviewer", "rev-password-long")})
    yield fresh_db_url, version_id


def add_decision(url: str, version_id: uuid.UUID | None, **values: object) -> uuid.UUID:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with Session(engine) as db:
        ticket = make_ticket(db)
        defaults = {
            "agent_version_id": version_id,
            "sampled_for_review": True,
            "inclusion_prob": 1.0,
            "needs_review": True,
        }
        make_decision(db, ticket, **{**defaults, **values})
        db.commit()
        ticket_id = ticket.id
    engine.dispose()
    return ticket_id


async def reviewer(url: str) -> UserRef:
    async with session_for(url) as session:
        row = await users.by_username(session, "rev")
        assert row is not None
        return UserRef.of(row)


def rows(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


async def test_an_override_records_review_override_outcome_and_audit(seeded):
    url, version_id = seeded
    ticket_id = add_decision(
        url,
        version_id,
        queue="card_payments",
        priority="P3",
        inclusion_prob=0.25,
        needs_review=False,
    )
    user = await reviewer(url)
    async with session_for(url) as session:
        result = await review.override(
            session,
            ticket_id=ticket_id,
            user=user,
            queue="transfers",
            priority="P2",
            reason="wrong_queue",
            note="a transfer",
        )
    assert result.verdict == "overridden"
    assert rows(
        url, "SELECT verdict, inclusion_prob, queue_correct, priority_correct FROM reviews"
    ) == [("overridden", 0.25, False, False)]
    assert rows(
        url, "SELECT old_queue, new_queue, new_priority, reason_category, note FROM overrides"
    ) == [("card_payments", "transfers", "P2", "wrong_queue", "a transfer")]
    assert rows(url, "SELECT queue, priority, source, recorded_by FROM outcomes") == [
        ("transfers", "P2", "override", "user:rev")
    ]
    assert rows(
        url, "SELECT actor, actor_role, action, target FROM audit_log WHERE action LIKE 'review.%%'"
    ) == [("rev", "reviewer", "review.override", str(ticket_id))]


async def test_choosing_the_agents_route_confirms_it_and_keeps_a_helpdesk_outcome(seeded):
    url, version_id = seeded
    ticket_id = add_decision(url, version_id, queue="top_ups", priority="P4")
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO outcomes (ticket_id, queue, priority, source) "
            "VALUES (%s, 'top_ups', 'P3', 'helpdesk')",
            (ticket_id,),
        )
    user = await reviewer(url)
    async with session_for(url) as session:
        result = await review.override(
            session, ticket_id=ticket_id, user=user, queue="top_ups", priority="P4", reason=""
        )
    assert result.verdict == "confirmed"
    assert rows(url, "SELECT count(*) FROM overrides") == [(0,)]
    assert rows(url, "SELECT source, priority FROM outcomes") == [("helpdesk", "P3")]


async def test_a_decision_is_reviewed_once(seeded):
    url, version_id = seeded
    ticket_id = add_decision(url, version_id, queue="top_ups", priority="P4")
    user = await reviewer(url)
    async with session_for(url) as session:
        await review.confirm(session, ticket_id=ticket_id, user=user)
    with pytest.raises(review.ReviewError, match="reviewed already"):
        async with session_for(url) as session:
            await review.confirm(session, ticket_id=ticket_id, user=user)


@pytest.mark.parametrize(
    ("queue", "priority", "reason", "note", "message"),
    [
        ("not_a_queue", "P2", "wrong_queue", "", "not in taxonomy"),
        ("transfers", "P9", "wrong_queue", "", "priority must be"),
        ("transfers", "P2", "", "", "choose a reason"),
        ("transfers", "P2", "other", "  ", "say in the note"),
    ],
)
async def test_invalid_overrides_are_refused(seeded, queue, priority, reason, note, message):
    url, version_id = seeded
    ticket_id = add_decision(url, version_id, queue="card_payments", priority="P3")
    user = await reviewer(url)
    with pytest.raises(review.ReviewError, match=message):
        async with session_for(url) as session:
            await review.override(
                session,
                ticket_id=ticket_id,
                user=user,
                queue=queue,
                priority=priority,
                reason=reason,
                note=note,
            )
    assert rows(url, "SELECT count(*) FROM reviews") == [(0,)]


async def test_a_kill_switch_route_can_be_routed_but_not_confirmed_and_is_not_estimated(seeded):
    url, version_id = seeded
    ticket_id = add_decision(
        url,
        None,
        queue=None,
        priority=None,
        mode="kill_switch",
        routed_to="human_triage",
        queue_probs={},
        priority_probs={},
    )
    user = await reviewer(url)
    with pytest.raises(review.ReviewError, match="no route to confirm"):
        async with session_for(url) as session:
            await review.confirm(session, ticket_id=ticket_id, user=user)
    async with session_for(url) as session:
        await review.override(
            session,
            ticket_id=ticket_id,
            user=user,
            queue="cash_and_atm",
            priority="P3",
            reason="other",
            note="routed by hand",
        )
        now = datetime.now(UTC)
        est = await review_estimates(session, since=now - timedelta(days=1), until=now)
    assert rows(url, "SELECT queue_correct FROM reviews") == [(None,)]
    assert not est.disagreement.known


async def test_estimates_weight_reviews_by_their_inclusion_probability(seeded):
    url, version_id = seeded
    user = await reviewer(url)
    plan = [(1.0, True), (0.1, False), (0.1, False), (0.1, True)]
    for prob, overridden in plan:
        ticket_id = add_decision(
            url,
            version_id,
            queue="card_payments",
            priority="P3",
            inclusion_prob=prob,
            needs_review=prob == 1.0,
        )
        async with session_for(url) as session:
            if overridden:
                await review.override(
                    session,
                    ticket_id=ticket_id,
                    user=user,
                    queue="transfers",
                    priority="P3",
                    reason="wrong_queue",
                )
            else:
                await review.confirm(session, ticket_id=ticket_id, user=user)
    async with session_for(url) as session:
        now = datetime.now(UTC)
        est = await review_estimates(session, since=now - timedelta(days=1), until=now)
    expected = disagreement_rate([o for _, o in plan], [p for p, _ in plan])
    assert est.disagreement == expected
    assert est.disagreement.rate == pytest.approx(11 / 31)
    assert est.queue_accuracy.rate == pytest.approx(20 / 31)


# --- a helpdesk outcome and a reviewer's verdict on one ticket: both kept, each counts for its
# own measure (agent/services/outcomes.py; docs/security.md, "Helpdesk outcomes and reviews").


def tenant_ticket(url: str, version_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    tenant = uuid.uuid4()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, api_key_hash, api_key_prefix, rate_limit_per_minute) "
            "VALUES (%s, %s, %s, 'tw_', 6000)",
            (tenant, f"helpdesk-{tenant.hex[:6]}", tenant.hex * 2),
        )
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with Session(engine) as db:
        ticket = make_ticket(db, tenant_id=tenant)
        make_decision(db, ticket, agent_version_id=version_id, queue="card_payments", priority="P3")
        db.commit()
        ticket_id = ticket.id
    engine.dispose()
    return tenant, ticket_id


async def helpdesk_says(url: str, tenant: uuid.UUID, ticket_id: uuid.UUID, queue: str):
    async with session_for(url) as session:
        return await record_helpdesk_outcome(
            session,
            tenant_id=tenant,
            ticket_id=ticket_id,
            queue=queue,
            priority="P3",
            taxonomy=None,
        )


async def override_to_transfers(url: str, ticket_id: uuid.UUID) -> None:
    user = await reviewer(url)
    async with session_for(url) as session:
        await review.override(
            session,
            ticket_id=ticket_id,
            user=user,
            queue="transfers",
            priority="P2",
            reason="wrong_queue",
        )


def audit_details(url: str, action: str) -> list[tuple]:
    return rows(
        url,
        "SELECT actor, actor_role, details FROM audit_log WHERE action = %s ORDER BY id",
        action,
    )


async def test_a_helpdesk_outcome_after_an_override_is_the_outcome_and_the_review_is_kept(seeded):
    url, version_id = seeded
    tenant, ticket_id = tenant_ticket(url, version_id)
    await override_to_transfers(url, ticket_id)

    result = await helpdesk_says(url, tenant, ticket_id, "top_ups")

    assert result.reviewer_route == ("transfers", "P2")  # told, not silently replaced
    assert rows(url, "SELECT queue, priority, source FROM outcomes") == [
        ("top_ups", "P3", "helpdesk")  # the final route: history, neighbours, labels
    ]
    assert rows(url, "SELECT verdict FROM reviews") == [("overridden",)]  # disagreement
    assert rows(url, "SELECT new_queue, new_priority FROM overrides") == [("transfers", "P2")]
    ((actor, role, details),) = audit_details(url, "outcome.helpdesk")
    assert (actor, role) == (f"tenant:{tenant}", "tenant")
    assert details["replaced"] == ["override", "transfers", "P2"]
    assert details["reviewer"] == ["transfers", "P2"] and details["reviewer_disagrees"] is True


async def test_an_override_after_a_helpdesk_outcome_leaves_the_helpdesk_outcome(seeded):
    url, version_id = seeded
    tenant, ticket_id = tenant_ticket(url, version_id)
    first = await helpdesk_says(url, tenant, ticket_id, "top_ups")
    assert first.reviewer_route is None

    await override_to_transfers(url, ticket_id)

    assert rows(url, "SELECT queue, source FROM outcomes") == [("top_ups", "helpdesk")]
    assert rows(url, "SELECT verdict FROM reviews") == [("overridden",)]
    assert rows(url, "SELECT new_queue FROM overrides") == [("transfers",)]
    ((_, _, helpdesk),) = audit_details(url, "outcome.helpdesk")
    assert helpdesk["replaced"] is None and helpdesk["reviewer"] is None
    ((_, _, override),) = audit_details(url, "review.override")
    assert override["outcome_kept"] == ["top_ups", "P3"]
    again = await helpdesk_says(url, tenant, ticket_id, "card_payments")  # latest report wins
    assert again.reviewer_route == ("transfers", "P2")
    assert rows(url, "SELECT queue, source FROM outcomes") == [("card_payments", "helpdesk")]
