"""A small ``bench load --json`` as a user runs it, and the long tickets it generates."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from agent.config import get_settings
from evals.bench.load import long_records, summary, targets
from evals.bench.long_tickets import MIN_CHARS, long_tickets
from evals.cli import register
from tests.conftest import Servers

runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def bench_env(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", servers.database("postgres"))
    monkeypatch.setenv("REDIS_URL", servers.redis_url)
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(servers.data_dir))
    monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_small_load_benchmark_prints_every_figure_as_json(bench_env: None) -> None:
    args = ["bench", "load", "--json", "--n", "40", "--n-long", "20", "--workers", "2"]
    result = runner.invoke(cli(), args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for kind in ("short", "long"):
        for key in ("tickets_per_s", "embedder_tickets_per_s", "baseline_tickets_per_s"):
            assert report[f"{kind}_{key}"] > 0
        # The rates are printed to 0.1 and the ratio to 0.001, each from the unrounded rates: the
        # printed ratio lies within what the printed rates allow, whatever they are.
        load, embedder = report[f"{kind}_tickets_per_s"], report[f"{kind}_embedder_tickets_per_s"]
        low, high = (load - 0.05) / (embedder + 0.05), (load + 0.05) / (embedder - 0.05)
        assert low - 0.0005 <= report[f"{kind}_ratio_to_embedder"] <= high + 0.0005
        assert set(report[f"{kind}_cores_used"]) == {"embedder", "load", "baseline"}
        assert all(c > 0 for c in report[f"{kind}_cores_used"].values())
        assert all(ms > 0 for ms in report[f"{kind}_cpu_ms_per_ticket"].values())
        assert report[f"{kind}_idle_speedup_estimate"] > 0
    assert report["config"]["n_short"] == 40 and report["config"]["n_long"] == 20
    assert report["config"]["workers"] == 2
    assert set(report["targets"]) == {"long_ratio_to_embedder", "long_speedup_vs_baseline"}
    assert "long" in summary(report) and "targets:" in summary(report)


def test_targets_are_the_issues_thresholds() -> None:
    met = {"long_ratio_to_embedder": 0.8, "long_speedup_vs_baseline": 1.6}
    assert targets(met) == {"long_ratio_to_embedder": True, "long_speedup_vs_baseline": True}
    missed = {"long_ratio_to_embedder": 0.79, "long_speedup_vs_baseline": 1.59}
    assert not any(targets(missed).values())


def test_long_tickets_are_long_varied_and_the_same_for_a_seed() -> None:
    tickets = long_tickets(200, seed=3)
    assert tickets == long_tickets(200, seed=3) != long_tickets(200, seed=4)
    assert min(len(text) for text, _ in tickets) > MIN_CHARS
    assert all(text.count("\n\n") >= 3 for text, _ in tickets)  # several paragraphs
    assert len({text for text, _ in tickets}) == 200
    assert len({queue for _, queue in tickets}) == 4
    records = long_records(5)
    assert [r.external_id for r in records] == [f"long:{i}" for i in range(5)]
