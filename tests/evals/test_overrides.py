"""Reviewed overrides exported as golden-set candidates, and evaluated without leakage."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from agent.config import get_settings
from agent.db import sqlalchemy_url
from agent.models import Override, User
from agent.services.classifiers import ClassifierRegistry
from agent.services.neighbours import PgNeighbourStore
from agent.taxonomy import Taxonomy
from evals.golden.cases import GoldenCase, read_golden
from evals.golden.overrides import override_candidates
from evals.golden.sources import read_source
from evals.harness.runner import run_cases
from evals.versions import find_version, resolved
from tests.asyncdb import session_for
from tests.evals.conftest import EvalAgent
from tests.evals.test_cli import cli
from tests.factories import make_decision, make_ticket

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def seed_overrides(url: str) -> dict[str, uuid.UUID]:
    """Three overridden tickets: one corrected twice, one to a queue outside the taxonomy."""
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with Session(engine) as db:
        reviewer = User(username="rita", password_hash="x", role="reviewer")
        db.add(reviewer)
        db.flush()
        ids = {}
        rows = [
            (
                "twice",
                "Card",
                "it never arrived",
                "transfers",
                [("card_usage", "P3", 0), ("card_orders", "P2", 5)],
            ),
            ("outside", "", "do you support crypto wallets", "card_usage", [("crypto", "P4", 1)]),
            (
                "priority",
                "",
                "someone used my card abroad",
                "fraud_and_disputes",
                [("fraud_and_disputes", "P1", 2)],
            ),
        ]
        for key, subject, body, agent_queue, corrections in rows:
            ticket = make_ticket(db, subject=subject, body=body, channel="email")
            decision = make_decision(
                db, ticket, queue=agent_queue, routed_to=agent_queue, priority="P3"
            )
            for new_queue, new_priority, minutes in corrections:
                db.add(
                    Override(
                        ticket_id=ticket.id,
                        decision_id=decision.id,
                        reviewer_id=reviewer.id,
                        old_queue=agent_queue,
                        old_priority="P3",
                        new_queue=new_queue,
                        new_priority=new_priority,
                        reason_category="wrong_priority" if key == "priority" else "wrong_queue",
                        created_at=T0 + timedelta(minutes=minutes),
                    )
                )
            ids[key] = ticket.id
        db.commit()
    engine.dispose()
    return ids


def test_each_tickets_latest_override_becomes_a_tagged_candidate(
    fresh_db_url: str, taxonomy: Taxonomy
) -> None:
    ids = seed_overrides(fresh_db_url)

    async def export(**kwargs):  # type: ignore[no-untyped-def]
        async with session_for(fresh_db_url) as session:
            return await override_candidates(session, taxonomy=taxonomy, **kwargs)

    found = asyncio.run(export())
    assert found.outside_taxonomy == 1
    by_ticket = {c.tag("ticket"): c for c in found.cases}
    assert set(by_ticket) == {str(ids["twice"]), str(ids["priority"])}
    twice = by_ticket[str(ids["twice"])]
    assert (twice.text, twice.queue, twice.priority) == (
        "Card\nit never arrived",
        "card_orders",
        "P2",
    )
    assert {"source:override", "reason:wrong_queue", "agent:transfers/P3", "channel:email"} <= set(
        twice.tags
    )
    only_priority = asyncio.run(export(reasons=["wrong_priority"]))
    assert [c.queue for c in only_priority.cases] == ["fraud_and_disputes"]
    assert asyncio.run(export(since=T0 + timedelta(minutes=3))).cases == [twice]


@pytest.fixture
def fresh_env(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def test_exported_candidates_build_a_golden_set(
    fresh_env: str, tmp_path: Path, taxonomy: Taxonomy
) -> None:
    seed_overrides(fresh_env)
    out = tmp_path / "candidates.jsonl"
    runner = CliRunner()
    result = runner.invoke(cli(), ["eval", "export-overrides", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["cases"] == 2 and summary["outside_taxonomy"] == 1
    assert read_source(str(out), taxonomy) == read_golden(out)
    result = runner.invoke(
        cli(),
        [
            "eval",
            "build-golden",
            "--source",
            str(out),
            "--name",
            "overrides",
            "--version",
            "2026-11-20",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    built = json.loads(result.stdout)
    assert built["created"] and built["n_cases"] == 2
    assert built["content_hash"] == summary["content_hash"]
    bad = runner.invoke(cli(), ["eval", "export-overrides", "--reason", "bored"])
    assert bad.exit_code == 2 and "unknown reason" in bad.output


def _history_ticket(url: str) -> tuple[str, str]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT t.id, t.body FROM outcomes o JOIN tickets t ON t.id = o.ticket_id "
            "ORDER BY t.external_id LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0]), row[1]


def test_a_case_from_a_ticket_in_history_does_not_retrieve_itself(
    eval_agent: EvalAgent, eval_embedder
) -> None:  # type: ignore[no-untyped-def]
    from agent.db import make_pool

    ticket_id, text = _history_ticket(eval_agent.database_url)
    tagged = GoldenCase(text, "card_orders", "P3", (f"ticket:{ticket_id}",))
    untagged = GoldenCase(text, "card_orders", "P3")

    async def run() -> list[float | None]:
        async with session_for(eval_agent.database_url) as session:
            version = await resolved(session, await find_version(session, "production"))
        p = make_pool(
            eval_agent.database_url, size=2, statement_timeout_ms=10_000, wait_timeout_s=10
        )
        await p.open()
        try:
            out = await run_cases(
                [tagged, untagged],
                set_hash="x",
                version=version,
                k=1,
                embedder=eval_embedder,
                history=PgNeighbourStore(p),
                classifiers=ClassifierRegistry(eval_agent.settings),
                concurrency=2,
            )
        finally:
            await p.close()
        return [r.nearest_distance for r in out.runs]

    with_tag, without_tag = asyncio.run(run())
    assert without_tag is not None and without_tag < 1e-4  # itself, at distance 0
    assert with_tag is not None and with_tag > without_tag
