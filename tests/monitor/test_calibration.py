from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from monitor.signals import WindowSample, get_signal
from monitor.stats.calibration import (
    MIN_REPLICATES,
    apply_thresholds,
    bootstrap_split,
    calibrate,
    window_alpha,
)

# Cheap settings so a calibration of a few signals takes seconds.
FAST: dict[str, dict[str, Any]] = {
    "embedding_mmd": {"n_frequencies": 128},
    "novelty": {"max_reference": 600},
}
SIGNALS = ["embedding_mmd", "prediction_mix", "novelty", "entropy", "ops", "history_disagreement"]


def test_window_alpha_is_the_window_share_of_the_false_alarm_period() -> None:
    assert window_alpha(timedelta(minutes=15)) == pytest.approx(1 / 2880)
    assert window_alpha(timedelta(hours=1), one_false_alarm_per=timedelta(days=1)) == pytest.approx(
        1 / 24
    )
    assert window_alpha(timedelta(days=60)) == 1.0


def test_bootstrap_split_is_disjoint_without_replacement_when_it_fits() -> None:
    ref, cur = bootstrap_split(100, 30, np.random.default_rng(0))
    assert len(cur) == 30 and len(ref) == 70
    assert not set(ref) & set(cur)
    assert len(set(cur)) == 30


def test_bootstrap_split_of_a_large_window_still_keeps_the_sides_apart() -> None:
    ref, cur = bootstrap_split(100, 80, np.random.default_rng(0))
    assert len(cur) == 80 and len(ref) == 50
    assert not set(ref) & set(cur)


def test_replicates_have_a_floor_and_each_signal_gets_thresholds(make_window) -> None:
    calibration = calibrate(
        make_window(0, 1500), n_current=100, alpha=0.05, replicates=10, signals=SIGNALS, params=FAST
    )
    assert calibration.replicates == MIN_REPLICATES
    summary = calibration.summary()
    assert set(summary) == set(SIGNALS)
    assert summary["embedding_mmd"]["upper"] is not None
    assert summary["embedding_mmd"]["lower"] is None
    assert summary["entropy"]["lower"] < summary["entropy"]["upper"]
    assert summary["prediction_mix"]["null"]["n"] == MIN_REPLICATES


def test_level_signals_are_thresholded_around_the_reference_level(make_window) -> None:
    reference = make_window(0, 1500)
    calibration = calibrate(reference, n_current=100, alpha=0.05, signals=["ops"])
    level = get_signal("ops")(reference, reference).value
    ops = calibration.signals["ops"]
    assert ops.offset == pytest.approx(level)
    assert ops.upper is not None and ops.upper > level


@pytest.fixture(scope="module")
def stationary_calibration(make_window):
    reference = make_window(0, 3000)
    calibration = calibrate(
        reference, n_current=150, alpha=0.2, replicates=120, signals=SIGNALS, params=FAST
    )
    alphas = {0.2: calibration, 1e-4: calibration.at_alpha(1e-4)}
    stream = [make_window(1000 + s, 150) for s in range(60)]
    return reference, alphas, stream


def alarm_rates(reference, calibration, stream) -> dict[str, float]:
    alarms: dict[str, list[bool]] = {name: [] for name in SIGNALS}
    for window in stream:
        for name in SIGNALS:
            spec = get_signal(name)
            result = spec(reference, window, **{**spec.value_only_params, **FAST.get(name, {})})
            (checked,) = apply_thresholds([result], calibration)
            alarms[name].append(bool(checked.drifted))
    return {name: float(np.mean(flags)) for name, flags in alarms.items()}


@pytest.mark.slow  # tens of seconds on a busy 2-core machine
def test_a_stationary_stream_alarms_at_about_the_target_rate(stationary_calibration) -> None:
    reference, calibrations, stream = stationary_calibration
    rates = alarm_rates(reference, calibrations[0.2], stream)
    print(rates)
    # 60 windows: binomial sd 0.052 per signal; the pooled rate is tighter.
    assert np.mean(list(rates.values())) == pytest.approx(0.2, abs=0.08)
    for name, rate in rates.items():
        assert 0.03 <= rate <= 0.4, (name, rate)


def test_a_tiny_alpha_gives_no_false_alarm(stationary_calibration) -> None:
    reference, calibrations, stream = stationary_calibration
    rates = alarm_rates(reference, calibrations[1e-4], stream)
    assert all(rate == 0.0 for rate in rates.values()), rates


def test_a_real_shift_crosses_the_tiny_alpha_threshold(stationary_calibration, make_window) -> None:
    reference, calibrations, _ = stationary_calibration
    shifted = make_window(7, 150, new_share=0.3)
    results = [get_signal(name)(reference, shifted, **FAST.get(name, {})) for name in SIGNALS]
    calibration = calibrations[1e-4]
    drifted = {r.name for r in apply_thresholds(results, calibration) if r.drifted}
    assert {"embedding_mmd", "novelty"} <= drifted
    # The disagreement with history moves too (30% of tickets of no known kind): rare on its
    # own (about 2e-4), a large share of the evidence, short of 1e-4 by itself.
    (disagreement,) = [r for r in results if r.name == "history_disagreement"]
    assert calibration.signals["history_disagreement"].result_tail_prob(disagreement) < 1e-3


def test_at_alpha_moves_thresholds_without_new_replicates(make_window) -> None:
    calibration = calibrate(make_window(0, 1500), n_current=100, alpha=0.2, signals=["entropy"])
    strict = calibration.at_alpha(0.01)
    assert strict.alpha == 0.01
    assert strict.null_values is calibration.null_values
    loose, tight = calibration.signals["entropy"], strict.signals["entropy"]
    assert tight.lower is not None and loose.lower is not None and tight.lower < loose.lower
    assert tight.upper is not None and loose.upper is not None and tight.upper > loose.upper


def test_insufficient_results_are_never_drifts(make_window) -> None:
    reference = make_window(0, 1500)
    calibration = calibrate(reference, n_current=100, alpha=0.2, signals=["ops"])
    result = get_signal("ops")(reference, make_window(1, 3))
    (checked,) = apply_thresholds([result], calibration)
    assert checked.insufficient and checked.drifted is False and checked.threshold is None


def test_a_constant_null_leaves_the_signal_uncalibrated() -> None:
    from monitor.signals import get_signal
    from monitor.stats.calibration import calibrate_signal

    calib = calibrate_signal(get_signal("prediction_mix"), np.zeros(200), 1e-3)
    assert calib.null is None and not calib.is_drift(0.05) and calib.tail_prob(0.05) == 1.0
    assert not calib.calibrated


def test_a_rate_the_reference_never_saw_is_judged_by_its_exact_p_value() -> None:
    # A knn reference: 0 fallbacks in 2,000. Every replicate's p-value is 1 (no events
    # anywhere), the bootstrap null of the rate would be constant: the signal is still judged.
    reference = WindowSample(is_fallback=np.zeros(2000, dtype=bool))
    calibration = calibrate(reference, n_current=150, alpha=1e-3, signals=["fallback_rate"])
    calib = calibration.signals["fallback_rate"]
    assert calib.calibrated and calib.exact_alpha == 1e-3
    assert np.all(calibration.null_values["fallback_rate"] == 1.0)
    spec = get_signal("fallback_rate")
    windows = [WindowSample(is_fallback=np.arange(150) < k) for k in (0, 1, 2, 3, 8)]
    checked = apply_thresholds([spec(reference, w) for w in windows], calibration)
    assert [c.drifted for c in checked] == [False, False, False, True, True]
    assert all(c.threshold == pytest.approx(3 / 150) for c in checked)
    assert calib.result_tail_prob(checked[-1]) == checked[-1].p_value
    strict = calibration.at_alpha(1e-12).signals["fallback_rate"]
    assert strict.exact_alpha == 1e-12 and not strict.result_is_drift(checked[-1])
