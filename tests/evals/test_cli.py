"""``ticketwatch eval`` end to end: build-golden, run, gate (pass and fail), list, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from agent.config import get_settings
from evals.cli import register
from tests.evals.conftest import (
    BAR_VERSION,
    GOLDEN_PER_QUEUE,
    OOS_GOLDEN,
    OPEN_VERSION,
    EvalAgent,
    OosGolden,
    add_version,
)

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
    # No case of this set should go to a person: escalation recall is not gated, and why.
    assert "no case whose route is human_triage" in report["skipped"]["all escalation.recall"]
    gated = {(r["segment"], r["metric"]) for r in report["rows"]}
    assert ("all", "queue.routed_accuracy") in gated


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


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(path: Path) -> None:
    from PIL import Image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()  # a truncated or corrupt file raises
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 300 and image.height > 200


def test_eval_run_reports_escalation_and_draws_the_curve(
    env: EvalAgent, oos_golden: OosGolden, tmp_path: Path
) -> None:
    png = tmp_path / "figures" / "curve.png"
    args = ["run", "--version", BAR_VERSION, "--golden", OOS_GOLDEN, "--k", "1"]
    result = invoke(*args, "--curve", str(png), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["curve_png"] == str(png)
    _check_png(png)
    m = data["metrics"]
    assert m["escalation"]["positives"] == len([c for c in oos_golden.cases if c.to_person])
    assert m["curve"] and {"threshold", "coverage", "accuracy", "n"} <= m["curve"][0].keys()
    printed = invoke(*args)  # without --curve: beside the run, in the data directory
    assert printed.exit_code == 0, printed.output
    out = printed.stdout
    for text in ("escalation precision", "recall", "accuracy-coverage", "human_triage"):
        assert text in out, text
    [shown] = re.findall(r"accuracy-coverage curve: (\S+\.png)", out)
    default = Path(shown)
    assert default.parent == env.settings.data_dir / "evals"
    _check_png(default)


def test_the_gate_fails_a_version_that_stops_handing_over_out_of_scope_tickets(
    env: EvalAgent, oos_golden: OosGolden
) -> None:
    # The baseline hands over the out-of-scope tickets under a 0.99 bar (all 30 on every
    # load measured; > 0.5 is the margin); the candidate hands over none, whatever the load.
    args = ["gate", "--candidate", OPEN_VERSION, "--baseline", BAR_VERSION, "--golden", OOS_GOLDEN]
    result = invoke(*args, "--min-cases", "10", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    failed = {(r["segment"], r["metric"]): r for r in report["failures"]}
    row = failed["all", "escalation.recall"]
    assert row["candidate"] == 0.0 and row["baseline"] > 0.5
    assert row["n"] == len([c for c in oos_golden.cases if c.to_person])
    assert ("queue:human_triage", "queue_accuracy") in failed
    assert "queue:human_triage priority_accuracy" in report["skipped"]
