from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from monitor.stats.null_distribution import SMALLEST_TAIL_PROB, NullDistribution, fit_gpd


@pytest.mark.parametrize("shape", [0.0, 0.2, 0.4])
def test_probability_weighted_moments_recover_a_heavy_or_exponential_tail(shape: float) -> None:
    sample = stats.genpareto.rvs(shape, scale=2.0, size=20000, random_state=1)
    fitted_shape, scale = fit_gpd(sample)
    assert fitted_shape == pytest.approx(shape, abs=0.05)
    assert scale == pytest.approx(2.0, rel=0.05)


def test_a_bounded_tail_is_treated_as_exponential() -> None:
    sample = stats.genpareto.rvs(-0.3, scale=1.0, size=5000, random_state=2)
    shape, scale = fit_gpd(sample)
    assert shape == 0.0
    assert scale == pytest.approx(sample.mean())


def test_inside_the_sample_quantiles_and_tail_probs_are_empirical() -> None:
    null = NullDistribution.fit(np.arange(1.0, 201.0), "increase")
    assert null.score_threshold(0.5) == pytest.approx(
        np.quantile(np.arange(1, 201), 0.5, method="higher")
    )
    assert null.tail_prob(150.0)[()] == pytest.approx(52 / 201)
    # a replicate of the null itself is left out of its own count
    assert null.tail_prob(150.0, in_sample=True)[()] == pytest.approx(51 / 200)


def test_rare_quantiles_of_a_gaussian_null_are_extrapolated_conservatively() -> None:
    null = NullDistribution.fit(stats.norm.rvs(size=300, random_state=3), "increase")
    for alpha in (1e-3, 1e-4, 1e-5):
        threshold = null.score_threshold(alpha)
        assert threshold > stats.norm.isf(alpha) * 0.95
        assert threshold < stats.norm.isf(alpha) * 2.0
    assert null.score_threshold(1e-4) > null.score_threshold(1e-3) > null.scores[-1]


def test_tail_prob_beyond_the_sample_keeps_falling_and_is_floored() -> None:
    null = NullDistribution.fit(stats.norm.rvs(size=300, random_state=4), "increase")
    p = null.tail_prob([3.0, 4.0, 6.0, 1e6])
    assert p[0] > p[1] > p[2] >= p[3]
    assert p[3] == SMALLEST_TAIL_PROB


def test_directions_orient_the_thresholds() -> None:
    values = stats.norm.rvs(loc=10.0, size=400, random_state=5)
    low_bad = NullDistribution.fit(values, "decrease")
    lower, upper = low_bad.thresholds(0.05)
    assert upper is None and lower == pytest.approx(np.quantile(values, 0.05), abs=0.1)
    both = NullDistribution.fit(values, "two_sided")
    lower, upper = both.thresholds(0.05)
    assert lower is not None and upper is not None
    assert (lower + upper) / 2 == pytest.approx(np.median(values))
    assert np.mean((values < lower) | (values > upper)) == pytest.approx(0.05, abs=0.01)


def test_nan_values_are_dropped_and_score_as_no_evidence() -> None:
    null = NullDistribution.fit([np.nan, 1.0, 2.0, 3.0], "increase")
    assert len(null.scores) == 3
    assert null.tail_prob(np.nan)[()] == 1.0
    with pytest.raises(ValueError):
        NullDistribution.fit([np.nan], "increase")


def test_ties_at_the_top_still_give_a_finite_falling_tail() -> None:
    # a rate of a rare event: most replicates 0, a few 1/60, none above
    values = np.r_[np.zeros(180), np.full(20, 1 / 60)]
    null = NullDistribution.fit(values, "increase")
    p = null.tail_prob([1 / 60, 2 / 60, 5 / 60])
    assert np.all(np.isfinite(p)) and p[0] > p[1] > p[2] >= 1e-12
    lower, upper = null.thresholds(1e-4)
    assert lower is None and upper is not None and np.isfinite(upper) and upper > 1 / 60


@pytest.mark.parametrize(("dist", "at_most"), [(stats.expon, 1.0), (stats.genpareto(0.2), 3.0)])
def test_rare_thresholds_fitted_on_200_replicates_keep_the_false_alarm_rate(
    dist: stats.rv_continuous, at_most: float
) -> None:
    # What a fresh window meets: a threshold fitted on one calibration's 200 replicates, so the
    # false-alarm rate is the null's tail beyond it averaged over calibrations. Extrapolated
    # about 500x past the sample; a plug-in fit (no predictive shape) gives 1.6x alpha on an
    # exponential null and 4.2x on a heavy (shape 0.2) one.
    alpha = 1.75e-4
    rng = np.random.default_rng(11)
    realized = [
        dist.sf(
            NullDistribution.fit(dist.rvs(size=200, random_state=rng), "increase").score_threshold(
                alpha
            )
        )
        for _ in range(1000)
    ]
    assert np.mean(realized) <= at_most * alpha
