"""Selective routing: the confidence threshold fitted to a target accuracy or escalation share."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from agent.classify.selective import (
    GRID,
    error_p_value,
    fit_target_accuracy,
    fit_target_escalation,
)


def calibrated_tickets(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Confidences and outcomes of a calibrated classifier: right with probability c."""
    c = rng.beta(5.0, 1.0, n)
    return c, rng.random(n) < c


def population_accuracy(threshold: float) -> float:
    """E[c | c >= threshold] for c ~ Beta(5, 1): density 5c^4."""
    t = max(threshold, 0.0)
    return (5 / 6) * (1 - t**6) / (1 - t**5) if t < 1 else 1.0


def test_the_error_p_value_is_the_binomial_tail():
    assert error_p_value(3, 100, 0.95) == pytest.approx(binom.cdf(3, 100, 0.05))
    assert error_p_value(0, 59, 0.95) < 0.05 < error_p_value(0, 58, 0.95)


def test_auto_routed_accuracy_is_below_target_in_at_most_one_of_20_calibration_splits():
    # Seeded (deterministic): 20 calibration samples of 1,000; the bound allows 5% of them.
    below = 0
    for split in range(20):
        c, y = calibrated_tickets(1000, np.random.default_rng(split))
        fit = fit_target_accuracy(
            confidence=c, correct=y, escalated=np.zeros(1000, bool), target=0.9
        )
        assert fit.feasible and 0.0 <= fit.min_confidence <= 0.99
        below += population_accuracy(fit.min_confidence) < 0.9
    assert below <= 1


def test_the_fit_reports_the_coverage_and_accuracy_it_implies():
    c, y = calibrated_tickets(2000, np.random.default_rng(5))
    novel = np.zeros(2000, bool)
    novel[:100] = True
    fit = fit_target_accuracy(confidence=c, correct=y, escalated=novel, target=0.9)
    auto = ~novel & (c >= fit.min_confidence)
    assert fit.coverage == pytest.approx(auto.mean())
    assert fit.accuracy == pytest.approx(y[auto].mean())
    assert fit.accuracy >= 0.9 and fit.n == 2000
    assert "auto-routed" in fit.describe()


def test_an_unreachable_accuracy_sends_every_ticket_to_humans():
    c, y = calibrated_tickets(500, np.random.default_rng(2))
    fit = fit_target_accuracy(
        confidence=c, correct=np.zeros(500, bool), escalated=np.zeros(500, bool), target=0.95
    )
    assert not fit.feasible and fit.min_confidence > 1 and fit.coverage == 0.0
    assert "every ticket to humans" in fit.describe()


def test_a_target_escalation_share_is_met_counting_novel_tickets():
    c, y = calibrated_tickets(1000, np.random.default_rng(3))
    novel = np.zeros(1000, bool)
    novel[:50] = True
    fit = fit_target_escalation(confidence=c, correct=y, escalated=novel, target=0.12)
    escalated = novel | (c < fit.min_confidence)
    assert (1 + escalated.sum()) / 1001 <= 0.12
    # the next stricter threshold would escalate more than the share
    stricter = novel | (c < fit.min_confidence + 0.01)
    assert (1 + stricter.sum()) / 1001 > 0.12
    assert fit.coverage == pytest.approx(1 - escalated.mean())


def test_the_threshold_grid_runs_from_the_strictest_down_to_zero():
    assert GRID[0] == 0.99 and GRID[-1] == 0.0 and list(GRID) == sorted(GRID, reverse=True)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="target accuracy"):
        fit_target_accuracy(confidence=[0.9], correct=[True], escalated=[False], target=1.2)
    with pytest.raises(ValueError, match="one entry per ticket"):
        fit_target_accuracy(confidence=[0.9, 0.8], correct=[True], escalated=[False], target=0.9)
    with pytest.raises(ValueError, match="needs held-out tickets"):
        fit_target_escalation(confidence=[], correct=[], escalated=[], target=0.1)
