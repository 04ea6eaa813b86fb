from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from evals.bench.alarms import e_detector_comparison, poisson_interval, run, simulate_stream
from monitor.stats.budget import stream_budget
from monitor.stats.hysteresis import AlertState
from monitor.stats.hysteresis import step as alert_step
from monitor.stats.sequential import CusumState, step_tracks


def test_the_vectorised_stream_opens_the_alerts_the_monitors_own_steps_open() -> None:
    # a stream with a generous budget (one false alert a day) so a short run has many events
    budget = stream_budget(
        segment="all",
        window_size_s=3600,
        window_sizes=[3600],
        kinds=(),
        volume=1.0,
        period=timedelta(days=1),
        tracks=3,
    )
    fast = simulate_stream(
        budget, months=1, clear_after=3, rng=np.random.default_rng(3), windows=500, tracks=3
    )
    rng = np.random.default_rng(3)
    states: dict[str, CusumState] = {}
    alert, opened = AlertState(), 0
    for t in range(1000):
        if t == 500:
            opened = 0
        p_sum, p_max = float(rng.random(1)[0]), float(rng.random(1)[0])
        groups = [float(x) for x in rng.random((2, 1))[:, 0]]
        s = step_tracks(
            states,
            {"evidence": p_sum, "a": groups[0], "b": groups[1]},
            threshold=budget.sequential_threshold,
        )
        states = s.states
        window_alarm = min(p_sum, p_max) <= budget.window_alpha / 2
        transition = alert_step(
            alert, "warning" if window_alarm or s.holds_alert else "none", clear_after=3
        )
        alert = transition.state
        opened += transition.action == "open"
    assert opened > 5
    assert int(fast.opened.sum()) == opened


def test_poisson_interval_of_known_values() -> None:
    low, high = poisson_interval(10, 10.0)
    assert (round(low, 4), round(high, 4)) == (0.4795, 1.839)
    assert poisson_interval(0, 1.0)[0] == 0.0


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_a_calm_deployment_spends_its_budget_and_no_more() -> None:
    # seeded: 100 deployment-months of 60 streams; 1,000 months gave 0.921 [0.863, 0.983]
    result = run(months=100, seed=1, alternative_runs=0)
    assert result["streams"] == 60 and result["budget_per_month"] == 1.0
    low, high = result["interval_95"]
    assert low <= 1.0 and result["false_alerts_per_month"] >= 0.6
    assert result["consistent_with_budget"]


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_the_cli_prints_json(monkeypatch) -> None:
    from agent.cli import _register_plugins, app
    from evals.bench import alarms

    real = alarms.run
    monkeypatch.setattr(alarms, "run", lambda **kw: real(**kw, alternative_runs=0))
    _register_plugins()
    out = CliRunner().invoke(app, ["bench", "alarms", "--json", "--months", "10"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["months"] == 10


def test_the_e_detector_spends_a_fraction_of_its_budget_the_z_cusum_all_of_it() -> None:
    # seeded; at ARL 100, 1,000 runs gave 2,720 +- 88 for the e-detector, 95.0 +- 2.9 for
    # the z-CUSUM; here at ARL 20 (quicker), 400 runs
    alt = e_detector_comparison(target=20.0, runs=400, seed=2)
    assert alt["e_detector_arl"] > 10 * alt["target_arl"]
    assert abs(alt["z_cusum_arl"] - alt["target_arl"]) < 5 * alt["z_cusum_arl_se"] + 1


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_windows_sharing_one_reference_stay_in_budget_only_with_the_allowance() -> None:
    # seeded: 10 deployment-months whose windows share a 1,800-ticket reference at 150 tickets
    # an hour (a quarter of a day's variance and more is the reference's). 20 months gave
    # 0.60 [0.31, 1.05] with the allowance and 50.5 without: the sequential layer accumulates
    # the reference's offset (docs/monitor.md).
    result = run(months=10, seed=2, alternative_runs=0, reference_tickets=1800)
    assert result["reference"]["rho"]["3600"] == pytest.approx(150 / 1950, abs=1e-4)
    assert result["consistent_with_budget"]
    without = result["without_allowance"]
    assert without["interval_95"][0] > 10.0
    assert without["opened_by_sequential_layer"] > 0.9 * without["false_alerts_per_month"]
