from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from monitor.signals import SignalResult, WindowSample, get_signal
from monitor.stats.calibration import calibrate
from monitor.stats.evidence import combine, replicate_nulls
from monitor.stats.null_distribution import SMALLEST_TAIL_PROB

FAST: dict[str, dict[str, Any]] = {
    "embedding_mmd": {"n_frequencies": 128},
    "novelty": {"max_reference": 600},
}
SIGNALS = [
    "embedding_mmd",
    "novelty",
    "prediction_mix",
    "predicted_label_chi2",
    "history_disagreement",
    "entropy",
    "ops",
]
N = 150


def run_signals(reference: WindowSample, current: WindowSample) -> list[SignalResult]:
    return [get_signal(name)(reference, current, **FAST.get(name, {})) for name in SIGNALS]


@pytest.fixture(scope="module")
def setting(make_window):
    reference = make_window(0, 3000)
    calibration = calibrate(
        reference, n_current=N, alpha=0.2, replicates=120, signals=SIGNALS, params=FAST
    )
    return reference, calibration


def test_composite_alarm_rate_on_a_stationary_stream_is_near_alpha(setting, make_window) -> None:
    reference, calibration = setting
    alarms = [
        combine(run_signals(reference, make_window(2000 + s, N)), calibration).severity != "none"
        for s in range(60)
    ]
    assert np.mean(alarms) == pytest.approx(0.2, abs=0.12)


def test_new_content_is_critical_and_named(setting, make_window) -> None:
    reference, calibration = setting
    evidence = combine(run_signals(reference, make_window(5, N, new_share=0.3)), calibration)
    assert evidence.severity == "critical"
    assert evidence.score > evidence.critical_threshold > evidence.warning_threshold
    assert evidence.what_moved.kind == "new_content"
    assert evidence.contributions[0].evidence >= evidence.contributions[-1].evidence
    assert "novelty" in {c.name for c in evidence.contributions[:3]}


def test_label_mix_shift_is_told_apart_from_new_content(
    setting, make_window, label_mix_weights
) -> None:
    reference, calibration = setting
    current = make_window(6, N, topic_weights=label_mix_weights)
    evidence = combine(run_signals(reference, current), calibration.at_alpha(0.01))
    assert evidence.severity != "none"
    assert evidence.what_moved.kind == "label_mix"
    assert evidence.what_moved.groups["novelty"] > 0.01
    assert "label_mix moved" in evidence.what_moved.summary


def test_an_agent_that_changed_on_the_same_traffic_is_named(setting, make_window) -> None:
    reference, calibration = setting
    current = make_window(7, N)
    assert current.predicted is not None
    wrong = current.predicted.copy()
    wrong[: N // 3] = (wrong[: N // 3] + 1) % 10
    evidence = combine(
        run_signals(reference, dataclasses.replace(current, predicted=wrong)), calibration
    )
    assert evidence.severity != "none"
    assert evidence.what_moved.kind == "agent_behaviour"


def test_weights_scale_a_signals_evidence(setting, make_window) -> None:
    reference, calibration = setting
    results = run_signals(reference, make_window(8, N, new_share=0.1))
    plain = {c.name: c.evidence for c in combine(results, calibration).contributions}
    heavy = combine(results, calibration, weights={"novelty": 3.0})
    weighted = {c.name: c.evidence for c in heavy.contributions}
    assert weighted["novelty"] == pytest.approx(3 * plain["novelty"])
    assert weighted["entropy"] == pytest.approx(plain["entropy"])


def test_no_usable_signal_gives_no_alert(setting) -> None:
    _, calibration = setting
    empty = WindowSample()
    evidence = combine([get_signal(name)(empty, empty) for name in SIGNALS], calibration)
    assert evidence.severity == "none"
    assert evidence.score == 0.0
    assert evidence.what_moved.kind == "none"


def test_a_signal_at_the_probability_floor_is_critical_at_any_rate(setting, make_window) -> None:
    # A tiny alpha on 120 replicates extrapolates Tippett's critical threshold past what any
    # signal can contribute (-ln of the floor); a signal beyond every replicate by far still
    # makes the window critical instead of never.
    reference, calibration = setting
    strict = calibration.at_alpha(1e-9)
    weights = {name: 1.0 for name in SIGNALS if strict.signals[name].null is not None}
    nulls = replicate_nulls(strict, weights)
    assert nulls is not None
    assert nulls[1].score_threshold(1e-10 / 2) > -math.log(SMALLEST_TAIL_PROB)
    evidence = combine(run_signals(reference, make_window(6, N, new_share=0.6)), strict)
    assert evidence.contributions[0].tail_prob == SMALLEST_TAIL_PROB
    assert evidence.severity == "critical"


def test_a_rate_the_reference_never_saw_adds_its_exact_evidence(make_window) -> None:
    # A knn reference: no fallbacks at all. Its replicates' p-values are all 1 (the signal is
    # silent in the composite null); a window falling back 8 times in 150 is evidence anyway.
    reference = dataclasses.replace(make_window(0, 3000), is_fallback=np.zeros(3000, bool))
    calibration = calibrate(
        reference, n_current=N, alpha=0.2, replicates=100, signals=["entropy", "fallback_rate"]
    )
    assert calibration.signals["fallback_rate"].calibrated
    calm = dataclasses.replace(make_window(31, N), is_fallback=np.zeros(N, bool))
    falling_back = dataclasses.replace(calm, is_fallback=np.arange(N) < 8)
    spec, entropy = get_signal("fallback_rate"), get_signal("entropy")
    quiet = combine(
        [entropy(reference, calm), spec(reference, dataclasses.replace(calm, is_fallback=None))],
        calibration,
    )
    assert [c.name for c in quiet.contributions] == ["entropy"]  # insufficient: left out
    result = spec(reference, falling_back)
    evidence = combine([entropy(reference, falling_back), result], calibration)
    (fallback,) = [c for c in evidence.contributions if c.name == "fallback_rate"]
    assert result.p_value is not None
    assert fallback.tail_prob == result.p_value and fallback.drifted
    assert fallback.evidence == pytest.approx(-math.log(result.p_value))
    assert evidence.severity == "critical"
    silent = combine([entropy(reference, calm), spec(reference, calm)], calibration)
    assert next(c for c in silent.contributions if c.name == "fallback_rate").evidence == 0.0
