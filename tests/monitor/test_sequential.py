from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.stats.sequential import (
    CusumState,
    detection_delay,
    in_control_arl,
    normal_score,
    reference_allowance,
    step,
    step_tracks,
    threshold_for_arl,
)


def run(p_values: list[float], threshold: float) -> list[tuple[float, bool, bool]]:
    state, out = CusumState(), []
    for p in p_values:
        s = step(state, p, threshold=threshold)
        state = s.state
        out.append((s.statistic, s.alarm, s.holds_alert))
    return out


def test_normal_score_of_known_p_values() -> None:
    assert normal_score(0.5) == pytest.approx(0.0)
    assert normal_score(0.025) == pytest.approx(1.959964, abs=1e-6)
    assert normal_score(1e-20) == pytest.approx(7.034484, abs=1e-5)  # floored at 1e-12
    assert normal_score(1.0) == -math.inf


def test_cusum_adds_z_minus_k_and_never_goes_below_zero() -> None:
    # z = 1.959964 (p 0.025) adds 1.459964; p = 0.5 (z 0) takes 0.5 away;
    # p = 0.99 (z -2.33) floors at 0
    steps = run([0.025, 0.025, 0.5, 0.99], threshold=10.0)
    assert [s for s, _, _ in steps] == pytest.approx([1.459964, 2.919928, 2.419928, 0.0], abs=1e-5)
    assert not any(alarm for _, alarm, _ in steps)


def test_alarm_resets_and_the_episode_holds_while_evidence_stays_positive() -> None:
    steps = run([0.025, 0.025, 0.025, 0.16, 0.5, 0.5], threshold=4.0)
    # 1.46, 2.92, 4.38 >= 4: alarm, reset to 0; z(0.16) = 0.994 - 0.5 > 0 holds; then 0
    assert [alarm for _, alarm, _ in steps] == [False, False, True, False, False, False]
    assert [held for _, _, held in steps] == [False, False, True, True, False, False]
    assert steps[2][0] == pytest.approx(4.379892, abs=1e-5)


def test_one_extreme_window_is_not_an_alarm_at_a_deployment_threshold() -> None:
    assert not step(CusumState(), 1e-12, threshold=threshold_for_arl(8640)).alarm


def test_siegmund_arl_and_threshold_are_inverse() -> None:
    assert in_control_arl(0.0) == pytest.approx((math.exp(1.166) - 1.166 - 1) / 0.5)
    for arl in (100.0, 8640.0, 1e6):
        assert in_control_arl(threshold_for_arl(arl)) == pytest.approx(arl)
    assert threshold_for_arl(8640.0) == pytest.approx(7.207, abs=1e-3)
    assert threshold_for_arl(1.0) == 0.0


def test_delay_shrinks_with_the_drift() -> None:
    h = threshold_for_arl(8640.0)
    delays = [detection_delay(h, mu) for mu in (0.5, 1.0, 2.0, 3.0)]
    assert delays == sorted(delays, reverse=True)
    assert delays[2] == pytest.approx(5.36, abs=0.01)
    assert detection_delay(h, 0.0) == pytest.approx(in_control_arl(h))


def test_realized_arl_under_the_null_matches_the_target() -> None:
    # 2,000 runs at ARL 100 from uniform p-values (seeded). Run lengths are about geometric,
    # sd ~ 100, so the mean's sd is ~2.2: the band 100 +- 12 (5.4 sd) would fail by chance
    # < 1e-7 of runs unseeded; measured 100.8 (and 493 +- 12 at 500, 8,944 +- 522 at 8,640).
    rng = np.random.default_rng(5)
    h = threshold_for_arl(100.0)
    lengths = []
    for _ in range(2000):
        state, t = CusumState(), 0
        while True:
            t += 1
            s = step(state, float(rng.random()), threshold=h)
            state = s.state
            if s.alarm:
                break
        lengths.append(t)
    assert abs(np.mean(lengths) - 100.0) < 12.0


def test_reference_allowance_of_known_values() -> None:
    # kappa = Phi^-1(0.95) = 1.644854; hourly 150 against 1,800: sqrt(150 / 1,950) = 0.277350
    assert reference_allowance(150, 1800, 0.05) == pytest.approx(0.456200, abs=1e-6)
    # a larger reference shrinks it: sqrt(150 / 10,150) = 0.121566
    assert reference_allowance(150, 10000, 0.05) == pytest.approx(0.199958, abs=1e-6)
    # a day of 3,600 against 10,000 keeps a quarter of its variance in the reference's offset
    assert reference_allowance(3600, 10000, 0.05) == pytest.approx(0.846270, abs=1e-6)
    for n, big_n, tail in ((0, 100, 0.05), (100, 0, 0.05), (100, 100, 0.0), (100, 100, 1.0)):
        assert reference_allowance(n, big_n, tail) == 0.0


def test_each_step_gives_up_the_allowance_besides_k() -> None:
    # z(0.025) = 1.959964: 1.959964 - 0.5 - 0.3 per step
    state = CusumState()
    for expected in (1.159964, 2.319928):
        s = step(state, 0.025, threshold=10.0, allowance=0.3)
        assert s.statistic == pytest.approx(expected, abs=1e-5)
        state = s.state
    tracks = step_tracks({}, {"evidence": 0.025, "novelty": 0.5}, threshold=10.0, allowance=0.3)
    assert tracks.steps["evidence"].statistic == pytest.approx(1.159964, abs=1e-5)
    assert tracks.steps["novelty"].statistic == 0.0


def test_a_shared_reference_offset_breaks_the_arl_and_the_allowance_restores_it() -> None:
    # 4,000 calm streams over 300 windows at ARL 2,000 (seeded; the CUSUM vectorised, its step
    # checked against ``step`` above). Independent windows (no shared reference) alarm within
    # 300 windows in a share near 1 - exp(-0.15); each stream judged against its own reference
    # (offset sqrt(rho) C, C ~ N(0, 1), rho = 150 / 1,950) alarms far more often, and the
    # allowance for a tail of 0.05 brings it back under the independent figure. Measured over
    # seeds 7-9: 0.142-0.145 independent, 0.267-0.281 shared, 0.022-0.024 with the allowance.
    # The margins are 5+ standard errors of a share of 4,000 (<= 0.008 each): a chance
    # failure well under 1e-6.
    rng = np.random.default_rng(7)
    rho, tail, streams, windows = 150 / 1950, 0.05, 4000, 300
    h = threshold_for_arl(2000.0)
    noise = rng.standard_normal((windows, streams))
    shared = math.sqrt(rho) * rng.standard_normal(streams) + math.sqrt(1.0 - rho) * noise

    def alarmed(z: np.ndarray, allowance: float) -> float:
        statistic = np.zeros(streams)
        hit = np.zeros(streams, dtype=bool)
        for t in range(windows):
            statistic = np.maximum(0.0, statistic + z[t] - 0.5 - allowance)
            hit |= statistic >= h
        return float(hit.mean())

    independent = alarmed(noise, 0.0)
    assert 0.08 < independent < 0.16
    assert alarmed(shared, 0.0) > independent + 0.08
    assert alarmed(shared, reference_allowance(150, 1800, tail)) < independent - 0.05
