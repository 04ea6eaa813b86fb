"""``versions compare`` on constructed decisions: a canary on comparable traffic, a shadow on
the same tickets; a canary judged ``roll back`` is stopped by ``--auto``, audited."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from agent.cli import app as cli_app
from agent.config import get_settings
from agent.rollout.sequential import e_above
from agent.services.operators import Actor, move_label
from agent.services.rollout import compare_versions, guard_canary
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from tests.asyncdb import session_for

ACTOR = Actor("tests", "operator")
T0 = datetime.now(UTC) - timedelta(hours=1)


async def _versions(url: str, labels: dict[str, tuple[str, int]]) -> dict[str, uuid.UUID]:
    ids = {}
    async with session_for(url) as session:
        for semver in ("1.0.0", "1.1.0"):
            v = await create_version(
                session,
                semver=semver,
                classifier="knn",
                taxonomy=load_taxonomy("banking77"),
                actor=ACTOR,
                params={"k": 9 if semver == "1.0.0" else 5},
            )
            ids[semver] = v.id
        for label, (semver, percent) in labels.items():
            await move_label(
                session, label=label, semver=semver, actor=ACTOR, canary_percent=percent
            )
    return ids


def _decide(
    conn: psycopg.Connection[Any],
    *,
    ticket: uuid.UUID,
    version: uuid.UUID,
    stream: str,
    queue: str,
    at: datetime,
    review: str | None = None,  # the reviewer's queue
    reviewer: uuid.UUID | None = None,
) -> None:
    decision, shadow = uuid.uuid4(), stream == "shadow"
    conn.execute(
        "INSERT INTO decisions (id, ticket_id, agent_version_id, is_final, is_shadow, stream, "
        "queue, priority, routed_to, mode, needs_review, queue_probs, priority_probs, "
        "prompt_tokens, completion_tokens, cost_usd, latency_ms, sampled_for_review, "
        "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 'P3', %s, 'agent', false, '{}', "
        "'{}', 0, 0, 0.001, 50, %s, %s)",
        (
            decision,
            ticket,
            version,
            not shadow,
            shadow,
            stream,
            queue,
            queue,
            review is not None,
            at,
        ),
    )
    if review is None:
        return
    verdict = "confirmed" if review == queue else "overridden"
    conn.execute(
        "INSERT INTO reviews (id, decision_id, ticket_id, reviewer_id, verdict, inclusion_prob, "
        "needs_review, queue_correct, priority_correct) VALUES (gen_random_uuid(), %s, %s, %s, %s, "
        "1, false, %s, "
        "true)",
        (decision, ticket, reviewer, verdict, review == queue),
    )
    if review != queue:
        conn.execute(
            "INSERT INTO overrides (id, ticket_id, decision_id, reviewer_id, old_queue, "
            "old_priority, new_queue, new_priority, reason_category, note) VALUES "
            "(gen_random_uuid(), %s, %s, %s, %s, 'P3', %s, 'P3', 'wrong_queue', '')",
            (ticket, decision, reviewer, queue, review),
        )


def _ticket(conn: psycopg.Connection[Any], channel: str, at: datetime) -> uuid.UUID:
    tid = uuid.uuid4()
    conn.execute(
        "INSERT INTO tickets (id, source, external_id, subject, body, channel, metadata, "
        "received_at) VALUES (%s, 'rollout', %s, '', 'x', %s, '{}', %s)",
        (tid, tid.hex, channel, at),
    )
    return tid


def _reviewer(conn: psycopg.Connection[Any]) -> uuid.UUID:
    uid = uuid.uuid4()
    conn.execute(
        "INSERT INTO users (id, username, password_hash, role) VALUES (%s, %s, 'x', 'reviewer')",
        (uid, f"r-{uid.hex[:8]}"),
    )
    return uid


def seed_canary(
    url: str, ids: dict[str, uuid.UUID], *, canary_right: bool, n: int = 12, offset: int = 0
) -> None:
    """``n`` reviewed decisions per version on web tickets: production's all kept; the
    canary's kept too (``canary_right``) or all overridden."""
    with psycopg.connect(url) as conn:
        reviewer = _reviewer(conn)
        for i in range(n):
            at = T0 + timedelta(seconds=i + offset)
            _decide(
                conn,
                ticket=_ticket(conn, "web", at),
                version=ids["1.0.0"],
                stream="production",
                queue="card_arrival",
                at=at,
                review="card_arrival",
                reviewer=reviewer,
            )
            _decide(
                conn,
                ticket=_ticket(conn, "web", at),
                version=ids["1.1.0"],
                stream="canary",
                queue="card_arrival",
                at=at,
                review="card_arrival" if canary_right else "lost_or_stolen_card",
                reviewer=reviewer,
            )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def compare_and_guard(url: str, *, auto: bool) -> Any:
    async with session_for(url) as session:
        result = await compare_versions(session, candidate="canary")
        if auto:
            await guard_canary(session, result, actor=ACTOR)
        return result


def labels(url: str) -> dict[str, tuple[str, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT l.label, v.semver, l.canary_percent FROM version_labels l "
            "JOIN agent_versions v ON v.id = l.agent_version_id"
        ).fetchall()
    return {label: (semver, pct) for label, semver, pct in rows}


def test_a_worse_canary_is_judged_roll_back_and_stopped(fresh_db_url) -> None:
    ids = run(_versions(fresh_db_url, {"production": ("1.0.0", 0), "canary": ("1.1.0", 20)}))
    seed_canary(fresh_db_url, ids, canary_right=False)
    result = run(compare_and_guard(fresh_db_url, auto=True))
    assert (result.candidate, result.baseline, result.stream) == ("1.1.0", "1.0.0", "canary")
    every, web = result.segments
    assert (every.segment, web.segment) == ("all", "channel:web")
    assert (every.baseline.reviewed_accuracy.k, every.baseline.reviewed_accuracy.n) == (12, 12)
    assert (every.candidate.reviewed_accuracy.k, every.candidate.reviewed_accuracy.n) == (0, 12)
    assert every.candidate.reviewed_accuracy.high == pytest.approx(0.2425, abs=1e-4)
    assert every.agreement is None and every.candidate.latency_p50_ms == 50.0
    assert result.evidence.candidate_worse == 12 and result.evidence.candidate_better == 0
    assert result.verdict.action == "roll back" and result.rolled_back
    assert labels(fresh_db_url)["canary"] == ("1.1.0", 0)
    with psycopg.connect(fresh_db_url) as conn:
        audit = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'version.canary_rollback'"
        ).fetchall()
    assert len(audit) == 1 and audit[0][0]["previous_percent"] == 20
    assert "12 of 12" in audit[0][0]["verdict"]
    # judged again, nothing more happens: the canary serves no one
    assert not run(compare_and_guard(fresh_db_url, auto=True)).rolled_back


def test_a_worse_canary_stops_at_the_pair_the_test_predicts(fresh_db_url) -> None:
    # every canary decision overridden, every production one kept: each labelled pair is
    # discordant against the canary, and E(theta > 1/2) first reaches 2/alpha = 40 at 8 pairs
    predicted = next(w for w in range(1, 30) if e_above(w, 0, 0.5) >= 40.0)
    assert predicted == 8
    ids = run(_versions(fresh_db_url, {"production": ("1.0.0", 0), "canary": ("1.1.0", 20)}))
    stopped_at = None
    for pairs in range(1, 13):
        seed_canary(fresh_db_url, ids, canary_right=False, n=1, offset=pairs)
        if run(compare_and_guard(fresh_db_url, auto=True)).rolled_back:
            stopped_at = pairs
            break
    assert stopped_at == predicted
    assert labels(fresh_db_url)["canary"] == ("1.1.0", 0)


def test_a_canary_as_good_as_production_keeps_serving(fresh_db_url) -> None:
    ids = run(_versions(fresh_db_url, {"production": ("1.0.0", 0), "canary": ("1.1.0", 20)}))
    seed_canary(fresh_db_url, ids, canary_right=True)
    result = run(compare_and_guard(fresh_db_url, auto=True))
    assert result.verdict.action == "hold" and not result.rolled_back
    assert labels(fresh_db_url)["canary"] == ("1.1.0", 20)


def test_a_shadow_is_compared_on_the_same_tickets(fresh_db_url) -> None:
    ids = run(_versions(fresh_db_url, {"production": ("1.0.0", 0), "shadow": ("1.1.0", 100)}))
    with psycopg.connect(fresh_db_url) as conn:
        reviewer = _reviewer(conn)
        for i in range(10):
            at = T0 + timedelta(seconds=i)
            ticket = _ticket(conn, "email" if i % 2 else "web", at)
            truth = "card_arrival" if i < 6 else "lost_or_stolen_card"
            _decide(
                conn,
                ticket=ticket,
                version=ids["1.0.0"],
                stream="production",
                queue="card_arrival",
                at=at,
                review=truth if i < 8 else None,
                reviewer=reviewer,
            )
            shadow_queue = truth if i < 9 else "card_arrival"
            _decide(
                conn,
                ticket=ticket,
                version=ids["1.1.0"],
                stream="shadow",
                queue=shadow_queue,
                at=at,
            )

    async def body() -> Any:
        async with session_for(fresh_db_url) as session:
            return await compare_versions(session, candidate="1.1.0")

    result = run(body())
    assert result.stream == "shadow"
    every = result.segments[0]
    # tickets 6, 7, 8 routed differently; 6 and 7 reviewed: the shadow was right on both
    assert every.agreement is not None and (every.agreement.k, every.agreement.n) == (7, 10)
    assert (every.baseline.reviewed_accuracy.k, every.candidate.reviewed_accuracy.k) == (6, 8)
    assert result.evidence.candidate_worse == 0 and result.evidence.candidate_better == 2


@pytest.fixture
def cli(servers, monkeypatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(servers.data_dir))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    monkeypatch.setenv("COLUMNS", "200")
    yield CliRunner()
    get_settings.cache_clear()


def test_versions_compare_prints_json_and_exits_3_on_roll_back(cli, monkeypatch, fresh_db_url):
    ids = run(_versions(fresh_db_url, {"production": ("1.0.0", 0), "canary": ("1.1.0", 5)}))
    seed_canary(fresh_db_url, ids, canary_right=False)
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    done = cli.invoke(cli_app, ["versions", "compare", "canary", "--json"])
    assert done.exit_code == 3, done.output
    doc = json.loads(done.output)
    assert doc["verdict"]["action"] == "roll back" and not doc["rolled_back"]
    assert labels(fresh_db_url)["canary"] == ("1.1.0", 5)  # without --auto nothing moves
    table = cli.invoke(cli_app, ["versions", "compare", "1.1.0", "--auto"])
    assert table.exit_code == 3 and "roll back" in table.output and "stopped" in table.output
    assert labels(fresh_db_url)["canary"] == ("1.1.0", 0)
