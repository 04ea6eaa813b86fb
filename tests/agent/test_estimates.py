"""Horvitz-Thompson / Hajek estimates from reviewed samples, with Wilson intervals."""

from __future__ import annotations

import numpy as np
import pytest

from agent.estimates import accuracy, disagreement_rate, hajek_rate, wilson_interval


def test_wilson_interval_matches_known_values():
    # 8 successes in 10 trials: Wilson 95% interval (0.4902, 0.9433).
    low, high = wilson_interval(0.8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0.0, 20)[0] == 0.0 and wilson_interval(1.0, 20)[1] == 1.0


def test_equal_inclusion_probabilities_give_the_plain_share():
    est = disagreement_rate([True, False, False, True], [0.1] * 4)
    assert est.rate == pytest.approx(0.5)
    assert est.effective_n == pytest.approx(4)
    assert (est.low, est.high) == pytest.approx(wilson_interval(0.5, 4))
    assert (est.reviewed, est.positives) == (4, 2)


def test_weights_undo_oversampling_of_flagged_decisions():
    # One flagged decision (always reviewed, overridden) stands for itself; nine sampled at 10%
    # (all confirmed) stand for ninety: the rate is 1/91, not 1/10.
    est = disagreement_rate([True] + [False] * 9, [1.0] + [0.1] * 9)
    assert est.rate == pytest.approx(1 / 91)
    assert est.effective_n == pytest.approx(91**2 / (1 + 9 * 100))


def test_no_reviews_gives_no_estimate():
    est = accuracy([], [])
    assert not est.known and est.rate is None and est.reviewed == 0


@pytest.mark.parametrize("probs", [[0.0], [1.5], [-0.1]])
def test_inclusion_probabilities_must_be_in_the_unit_interval(probs):
    with pytest.raises(ValueError):
        hajek_rate([True], probs)


def test_the_estimate_is_unbiased_and_its_interval_covers_under_unequal_sampling():
    rng = np.random.default_rng(3)
    n = 4000
    hard = rng.random(n) < 0.15  # flagged: reviewed always, wrong half the time
    wrong = np.where(hard, rng.random(n) < 0.5, rng.random(n) < 0.05)
    truth = wrong.mean()
    estimates, covered = [], 0
    for _ in range(300):
        probs = np.where(hard, 1.0, 0.08)
        sampled = rng.random(n) < probs
        est = disagreement_rate(list(wrong[sampled]), list(probs[sampled]))
        assert est.rate is not None and est.low is not None and est.high is not None
        estimates.append(est.rate)
        covered += est.low <= truth <= est.high
    naive = wrong[hard].sum() / (hard.sum() + 0.08 * (~hard).sum())
    assert np.mean(estimates) == pytest.approx(truth, abs=0.004)
    assert abs(naive - truth) > 0.05  # the unweighted share would be far off
    assert covered / 300 >= 0.9
