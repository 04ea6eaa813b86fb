"""``ticketwatch replay``: registered, errors exit 2 with the reason, --strict's verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from evals.cli import register
from evals.replay.cli import failures

runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_replay_is_a_top_level_command_with_its_options() -> None:
    result = runner.invoke(cli(), ["replay", "--help"])
    assert result.exit_code == 0
    for option in ("--report", "--seed", "--strict", "--max-delay", "--json"):
        assert option in result.output


def test_an_invalid_scenario_exits_2_naming_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndataset: {name: banking77}\nphases: []\n")
    result = runner.invoke(cli(), ["replay", str(bad), "--report", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "phases" in result.output
    missing = runner.invoke(cli(), ["replay", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "no such scenario" in missing.output


def summary(*detections: dict[str, Any], false_alarms: int = 0) -> dict[str, Any]:
    return {
        "scenario": "s",
        "scores": [
            {"detector": "composite", "false_alarms": false_alarms, "detections": detections},
            {"detector": "ks_probabilities", "false_alarms": 9, "detections": []},
        ],
    }


def test_strict_fails_on_a_miss_a_late_catch_or_a_false_alarm() -> None:
    on_time = {"phase": "a", "delay_windows": 2}
    assert failures(summary(on_time), max_delay=2) == []
    late = {"phase": "b", "delay_windows": 3}
    missed = {"phase": "c", "delay_windows": None}
    problems = failures(summary(on_time, late, missed, false_alarms=1), max_delay=2)
    assert problems == ["s: 1 false alarm(s)", "s: b after 3 windows", "s: c missed"]
