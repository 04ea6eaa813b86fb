"""The always-valid sequential test: known values, its error rate under the null however
often it is read, its power, and the verdict's rules."""

from __future__ import annotations

import numpy as np
import pytest

from agent.rollout.sequential import Evidence, e_above, e_below, verdict


def test_e_values_of_known_values() -> None:
    # uniform mixture on [1/2, 1] against p = 1/2: 2 * integral of p over [1/2, 1] / (1/2) = 1.5
    assert e_above(0, 0, 0.5) == pytest.approx(1.0)
    assert e_above(1, 0, 0.5) == pytest.approx(1.5)
    assert e_above(0, 1, 0.5) == pytest.approx(0.5)
    # uniform mixture on [0, 0.6] against p = 0.6: integral of p over [0, 0.6] / 0.36 = 0.5
    assert e_below(1, 0, 0.6) == pytest.approx(0.5)
    assert e_below(0, 1, 0.6) == pytest.approx((0.6 - 0.18) / 0.6 / 0.4)
    # 10 of 10 discordant pairs against the candidate: 2^10 * 2 * (1 - 2^-11) / 11
    assert e_above(10, 0, 0.5) == pytest.approx(2**11 * (1 - 2**-11) / 11)


def _crossing_rate(theta: float, *, steps: int, paths: int, level: float, seed: int) -> float:
    """Share of paths whose e-value against theta <= 1/2 ever reaches ``level``."""
    rng = np.random.default_rng(seed)
    crossed = 0
    for _ in range(paths):
        worse = np.cumsum(rng.random(steps) < theta)
        n = np.arange(1, steps + 1)
        # reading after every pair: the optional stopping Ville's inequality allows
        if any(e_above(int(w), int(k - w), 0.5) >= level for w, k in zip(worse, n, strict=True)):
            crossed += 1
    return crossed / paths


def test_read_after_every_pair_the_test_stops_wrongly_less_than_alpha() -> None:
    # seeded: the same draws every run, so the test cannot fail by chance
    for theta in (0.5, 0.4):  # the null's boundary and inside it
        rate = _crossing_rate(theta, steps=200, paths=400, level=20.0, seed=11)
        assert rate <= 0.05


def test_a_clearly_worse_candidate_is_caught_on_most_paths() -> None:
    assert _crossing_rate(0.85, steps=60, paths=200, level=40.0, seed=12) >= 0.9


def test_the_verdict_rolls_back_promotes_or_holds() -> None:
    assert verdict(Evidence(10, 0)).action == "roll back"
    assert verdict(Evidence(3, 30)).action == "promote"
    assert verdict(Evidence(15, 15)).action == "hold"
    assert verdict(Evidence(0, 0)).action == "hold"
    # a shadow that agrees on 40 of 100 tickets is rolled back whatever the labels say
    low = verdict(Evidence(0, 0, agreed=40, compared=100))
    assert low.action == "roll back" and "agrees" in low.reason
    assert verdict(Evidence(3, 30, agreed=95, compared=100)).action == "promote"


def test_rolling_back_needs_twice_the_evidence_of_one_test() -> None:
    # the two roll-back tests share alpha: each is read at 2 / alpha (40 at alpha 0.05)
    assert e_above(7, 0, 0.5) == pytest.approx(31.9, abs=0.1)
    assert e_above(8, 0, 0.5) == pytest.approx(56.8, abs=0.1)
    assert verdict(Evidence(7, 0)).action == "hold"
    assert verdict(Evidence(8, 0)).action == "roll back"
    assert verdict(Evidence(7, 0), alpha=0.1).action == "roll back"  # read at 20
