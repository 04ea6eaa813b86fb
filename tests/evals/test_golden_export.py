"""``eval build-golden`` from a helpdesk's CSV export, with cases whose right route is a
person, against the real database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agent.config import get_settings
from evals.cli import register
from tests.agent.datasets.exports import tickets, write_export, write_taxonomy
from tests.conftest import Servers

runner = CliRunner()


@pytest.fixture
def cli_env(
    servers: Servers, fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_build_golden_reads_an_export_with_a_persons_cases(cli_env: Path) -> None:
    rows = tickets("freshdesk", per_queue=2, seed=3)
    export = write_export(cli_env / "golden.csv", "freshdesk", rows)
    with export.open("a", encoding="utf-8") as fh:  # out of scope: a person is the right route
        fh.write("900,What is the weather in Lisbon?,,Closed,,Email,human_triage,\n")
    labels = list(dict.fromkeys(t.label for t in rows))
    taxonomy = cli_env / "it.yaml"
    write_taxonomy(taxonomy, labels)
    app = typer.Typer()
    register(app)
    args = ["eval", "build-golden", "--source", str(export), "--taxonomy", str(taxonomy)]
    result = runner.invoke(app, [*args, "--preset", "freshdesk", "--timezone", "UTC", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_cases"] == 9
    assert summary["queues"] == {"q0": 2, "q1": 2, "q2": 2, "q3": 2, "human_triage": 1}
    cases = [json.loads(line) for line in Path(summary["path"]).read_text().splitlines()]
    assert cases[-1]["queue"] == "human_triage" and cases[-1].get("priority") is None
    assert [c["priority"] for c in cases[:-1]] == [t.priority for t in rows]
    result = runner.invoke(app, [*args, "--preset", "freshdesk"])
    assert result.exit_code == 2
    assert "has no UTC offset: give --timezone" in " ".join(result.output.split())
