from __future__ import annotations

import json

import numpy as np
import pytest

from evals.bench import evidently_baseline
from evals.bench.monitor import main, run, synthetic_pool
from evals.bench.power import draw_pair


def test_draw_pair_keeps_windows_disjoint_and_mixes_the_share_of_new_topics() -> None:
    pool = synthetic_pool(np.random.default_rng(0))
    reference, current = draw_pair(pool, 200, 0.1, np.random.default_rng(1))
    assert reference.shape == current.shape == (200, 384)
    new_rows = {row.tobytes() for row in pool.new}
    assert sum(row.tobytes() in new_rows for row in current) == 20
    assert not {row.tobytes() for row in reference} & {row.tobytes() for row in current}


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_small_benchmark_reports_every_figure() -> None:
    result = run(
        (300, 600),
        reference_size=600,
        repeats=1,
        power={"window": 200, "null_trials": 10, "shift_trials": 5},
    )
    assert set(result["seconds"]) == {"300", "600"}
    assert all(s > 0 for s in result["seconds"].values())
    assert result["mmd_seconds"] > 0
    assert result["cost_growth"]["300"] == 1.0
    if evidently_baseline.available():
        assert result["evidently_seconds"] > 0 and result["evidently_mmd_seconds"] > 0
        assert set(result["ratios"]) == {"evidently_report_over_suite", "evidently_mmd_over_mmd"}
        rows = result["power"]["rows"]
        assert [r["new_topic_share"] for r in rows] == [0.0, 0.02, 0.03, 0.05]
        assert all(0.0 <= r["ours"] <= 1.0 for r in rows)
        assert set(result["targets"]) >= {"suite_10k_seconds", "mmd_power_at_least_evidently"}
    else:
        assert "not installed" in result["evidently"]


def test_main_prints_json(capsys, monkeypatch) -> None:
    monkeypatch.setattr("evals.bench.monitor.run", lambda *a, **k: {"seconds": {"1000": 0.1}})
    assert main(["--quick"]) == 0
    assert json.loads(capsys.readouterr().out) == {"seconds": {"1000": 0.1}}


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_the_cli_prints_every_figure_and_fails_strictly_on_a_missed_target(monkeypatch) -> None:
    from typer.testing import CliRunner

    from agent.cli import _register_plugins, app

    small = {
        "reference_size": 600,
        "repeats": 1,
        "power": {"window": 200, "null_trials": 10, "shift_trials": 5},
    }
    calls = []

    def quick_run(sizes, **kwargs):
        calls.append(sizes)
        return run((300, 600), **small)

    monkeypatch.setattr("evals.bench.monitor.run", quick_run)
    _register_plugins()
    result = CliRunner().invoke(app, ["bench", "monitor", "--json", "--quick"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert calls == [(1000, 10000)]
    assert set(figures["seconds"]) == {"300", "600"} and figures["mmd_seconds"] > 0
    if evidently_baseline.available():
        assert figures["evidently_seconds"] > 0 and figures["evidently_mmd_seconds"] > 0
    monkeypatch.setattr(
        "evals.bench.monitor.run", lambda sizes, **kw: {"seconds": {}, "targets": {"x": False}}
    )
    strict = CliRunner().invoke(app, ["bench", "monitor", "--json", "--strict"])
    assert strict.exit_code == 1 and "targets missed: x" in strict.output
