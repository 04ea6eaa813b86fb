"""``ticketwatch eval`` end to end: build-golden, run, gate (pass and fail), list, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from agent.config import get_settings
from agent.repositories import catalog
from agent.services.operators import Actor
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from evals.cli import register
from tests.asyncdb import session_for
from tests.evals.conftest import GOLDEN_PER_QUEUE, EvalAgent

GOLDEN = "banking77-test@tests"
runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def env(eval_agent: EvalAgent, monkeypatch: pytest.MonkeyPatch) -> Iterator[EvalAgent]:
    s = eval_agent.settings
    monkeypatch.setenv("DATABASE_URL", eval_agent.database_url)
    monkeypatch.setenv("REDIS_URL", s.redis_url.get_secret_value())  # type: ignore[union-attr]
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    monkeypatch.setenv("TICKETWATCH_EVAL_CONCURRENCY", "8")
    get_settings.cache_clear()
    yield eval_agent
    get_settings.cache_clear()


def invoke(*args: str) -> Any:
    return runner.invoke(cli(), ["eval", *args])


def add_version(agent: EvalAgent, semver: str, **changes: Any) -> None:
    """A version like the promoted one, with ``changes`` to its params or thresholds."""

    async def body() -> None:
        async with session_for(agent.database_url) as session:
            if await catalog.version_by_semver(session, semver) is not None:
                return
            base = await catalog.version_by_semver(session, agent.setup.version)
            assert base is not None
            await create_version(
                session,
                semver=semver,
                classifier="knn",
                taxonomy=load_taxonomy("banking77"),
                actor=Actor("tests", "admin"),
                params={**base.params, **changes.get("params", {})},
                thresholds={**base.thresholds, **changes.get("thresholds", {})},
            )

    asyncio.run(body())


def test_build_golden_again_is_a_no_op(env: EvalAgent) -> None:
    args = [
        "build-golden",
        "--per-queue",
        str(GOLDEN_PER_QUEUE),
        "--seed",
        "3",
        "--name",
        "banking77-test",
        "--version",
        "tests",
        "--json",
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["created"] is False
    assert summary["content_hash"] == env.golden.row.content_hash
    assert summary["n_cases"] == 132 and sum(summary["queues"].values()) == 132


def test_eval_run_prints_accuracy_macro_f1_and_calibration(env: EvalAgent) -> None:
    result = invoke("run", "--version", env.setup.version, "--golden", GOLDEN, "--k", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in (
        "routing quality",
        "accuracy (end to end",
        "macro-F1",
        "expected calibration",
        "coverage",
        "pass^2",
        "per queue",
        "per priority",
        "card_orders",
        "P1",
    ):
        assert text in out, text


def test_the_gate_passes_the_default_version(env: EvalAgent) -> None:
    result = invoke(
        "gate", "--candidate", env.setup.version, "--golden", GOLDEN, "--min-cases", "10"
    )
    assert result.exit_code == 0, result.output
    assert "GATE PASSED" in result.stdout and "queue:card_orders" in result.stdout


def test_the_gate_passes_an_equivalent_new_version(env: EvalAgent) -> None:
    add_version(env, "1.0.2")  # same behaviour, new version: scored afresh, not reused
    result = invoke(
        "gate", "--candidate", "1.0.2", "--golden", GOLDEN, "--min-cases", "10", "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and not report["candidate"]["reused"]
    assert report["candidate"]["version"] == "1.0.2"


def test_the_gate_fails_a_version_that_hands_most_tickets_to_humans(env: EvalAgent) -> None:
    # A realistic "safety" change: the confidence bar raised from 0.5 to 0.95. Routed
    # accuracy rises, but the agent now routes few tickets, so end to end it falls far.
    add_version(env, "1.0.1-strict", thresholds={"min_confidence": 0.95})
    result = invoke(
        "gate", "--candidate", "1.0.1-strict", "--golden", GOLDEN, "--min-cases", "10", "--json"
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert not report["passed"]
    failed = {(r["segment"], r["metric"]) for r in report["failures"]}
    assert ("all", "queue.accuracy") in failed and ("all", "priority.accuracy") in failed
    assert any(seg.startswith("queue:") for seg, _ in failed)
    printed = invoke("gate", "--candidate", "1.0.1-strict", "--golden", GOLDEN)
    assert printed.exit_code == 1
    assert "GATE FAILED" in printed.stdout and "failing rows" in printed.stdout


def test_missing_golden_set_or_version_exits_2_with_what_to_do(env: EvalAgent) -> None:
    result = invoke("run", "--golden", "no-such-set")
    assert result.exit_code == 2
    assert "ticketwatch eval build-golden" in result.output
    result = invoke("build-golden", "--source", "banking77:dev")
    assert result.exit_code == 2 and "unknown Banking77 split" in result.output
    result = invoke("gate", "--candidate", "9.9.9", "--golden", GOLDEN)
    assert result.exit_code == 2 and "no agent version '9.9.9'" in result.output


def test_list_shows_golden_sets_and_runs(env: EvalAgent) -> None:
    assert invoke("run", "--version", "production", "--golden", GOLDEN, "--k", "1").exit_code == 0
    result = invoke("list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"name": "banking77-test", "version": "tests"}.items() <= data["golden_sets"][0].items()
    latest = data["runs"][0]
    assert latest["version"] == env.setup.version and latest["golden"] == GOLDEN
    table = invoke("list")
    assert "golden sets" in table.stdout and "recent eval runs" in table.stdout
