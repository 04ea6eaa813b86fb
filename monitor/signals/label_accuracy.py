"""Accuracy on labels that arrive late: the window's decisions against their final routes.

A decision's label is its ticket's final route (``true_label``): the helpdesk's latest outcome,
else the route a reviewer confirmed or set (docs/security.md, *Helpdesk outcomes and reviews*).
Labels are not a random sample of the window: flagged decisions are all sent to review,
confident ones at the sampling rate, and helpdesks report some channels more than others. So
each labelled decision is weighted by 1 / P(labelled | its stratum), that probability estimated
from the window's own label rate in its stratum (``label_stratum``: the decision's mode and
channel). A stratum without any label borrows its parent's (``label_parent``: the mode alone);
one whose parent has none is left out, and ``coverage`` says how much of the window that is.

With N_h decisions and m_h labels in stratum h, the weights w = N_h / m_h make the Hájek ratio
sum(w y) / sum(w) the post-stratified accuracy sum_h (N_h / N) acc_h. Its variance is the
linearisation sum(w^2 (y - acc)^2) / sum(w)^2, its interval Wilson's on Kish's effective
sample size n_eff = sum(w)^2 / sum(w^2) (the number of equally weighted labels worth as much).

The test is one-sided, that the window's error rate exceeds the reference's: Fisher's exact
test (:func:`monitor.signals._stats.rate_excess_test`) on the effective counts, round(n_eff)
trials with round((1 - acc) n_eff) errors, in the window and in the reference. With equal
weights (labels spread evenly over the strata) these are the raw counts and the test is exact;
otherwise it is the design-effect approximation of the weighted test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.signals._stats import rate_alarm_count, rate_excess_test, wilson_interval
from monitor.signals.base import SignalResult, WindowSample, insufficient, register

NAME = "label_accuracy"


@dataclass(frozen=True, slots=True)
class AccuracyEstimate:
    """The inverse-probability-weighted accuracy of a window's labelled decisions."""

    accuracy: float
    variance: float
    n_effective: float
    labelled: int
    covered: int  # decisions the estimate speaks for (their stratum or its parent has labels)
    total: int

    @property
    def coverage(self) -> float:
        return self.covered / self.total if self.total else 0.0

    def effective_counts(self) -> tuple[int, int]:
        """(errors, trials) on Kish's effective sample size, for the exact test."""
        trials = max(round(self.n_effective), 1)
        errors = min(max(round((1.0 - self.accuracy) * self.n_effective), 0), trials)
        return errors, trials


def inclusion_weights(
    labelled: NDArray[np.bool_], stratum: NDArray[np.integer[Any]], parent: NDArray[np.integer[Any]]
) -> NDArray[np.float64]:
    """Each labelled decision's weight 1 / P(labelled | stratum), the probability estimated as
    the stratum's label rate; the decisions of a stratum without labels are shared among the
    labelled ones of their parent. Unlabelled decisions weigh 0."""
    labelled = np.asarray(labelled, dtype=bool)
    _, s = np.unique(stratum, return_inverse=True)
    _, g = np.unique(parent, return_inverse=True)
    n_s = np.bincount(s)
    m_s = np.bincount(s, weights=labelled)
    orphan = m_s[s] == 0  # decisions whose stratum has no label
    orphans_g = np.bincount(g, weights=orphan, minlength=g.max(initial=-1) + 1)
    m_g = np.bincount(g, weights=labelled, minlength=len(orphans_g))
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(m_s[s] > 0, n_s[s] / m_s[s], 0.0)
        borrowed = np.where(m_g[g] > 0, orphans_g[g] / m_g[g], 0.0)
    return np.where(labelled, own + borrowed, 0.0)


def ipw_accuracy(
    correct: NDArray[np.bool_],
    labelled: NDArray[np.bool_],
    stratum: NDArray[np.integer[Any]],
    parent: NDArray[np.integer[Any]],
) -> AccuracyEstimate:
    """The window's accuracy, weighted by inclusion probability (module docstring)."""
    labelled = np.asarray(labelled, dtype=bool)
    weights = inclusion_weights(labelled, stratum, parent)
    total = float(weights.sum())
    if total <= 0:
        return AccuracyEstimate(float("nan"), float("nan"), 0.0, 0, 0, len(labelled))
    y = np.asarray(correct, dtype=np.float64)
    w, yl = weights[labelled], y[labelled]
    accuracy = float((w * yl).sum() / total)
    variance = float((w**2 * (yl - accuracy) ** 2).sum() / total**2)
    n_effective = float(total**2 / (w**2).sum())
    return AccuracyEstimate(
        accuracy, variance, n_effective, int(labelled.sum()), round(total), len(labelled)
    )


def shortfall_test(reference: AccuracyEstimate, current: AccuracyEstimate) -> float:
    """One-sided p-value that the window's accuracy is below the reference's."""
    k_ref, n_ref = reference.effective_counts()
    k_cur, n_cur = current.effective_counts()
    return rate_excess_test(k_ref, n_ref, k_cur, n_cur)


def window_estimate(window: WindowSample) -> AccuracyEstimate:
    """The estimate of a window whose labels, predictions and strata are present."""
    assert window.true_label is not None and window.predicted is not None
    assert window.label_stratum is not None and window.label_parent is not None
    labelled = window.true_label >= 0
    correct = np.asarray(window.predicted) == window.true_label
    return ipw_accuracy(correct, labelled, window.label_stratum, window.label_parent)


def alarm_accuracy(result: SignalResult, alpha: float) -> float | None:
    """The highest accuracy of the result's window whose p-value is <= alpha (None: none)."""
    d = result.details
    n_cur = int(d["effective_trials"])
    count = rate_alarm_count(int(d["reference_errors"]), int(d["reference_trials"]), n_cur, alpha)
    return None if count is None else 1.0 - count / n_cur


@register(
    NAME,
    requires=("true_label", "predicted", "label_stratum", "label_parent"),
    min_current=1,
    direction="decrease",
    group="disagreement",
    exact=alarm_accuracy,
)
def label_accuracy(
    reference: WindowSample,
    current: WindowSample,
    *,
    rng: np.random.Generator,
    min_labelled: int = 20,
    **_: Any,
) -> SignalResult:
    """IPW accuracy of the window's labelled decisions, tested against the reference's."""
    ref, cur = window_estimate(reference), window_estimate(current)
    if min(ref.labelled, cur.labelled) < min_labelled:
        reason = f"fewer than {min_labelled} labelled ({cur.labelled}; reference {ref.labelled})"
        return insufficient(NAME, reference, current, reason)
    errors, trials = cur.effective_counts()
    ref_errors, ref_trials = ref.effective_counts()
    low, high = wilson_interval(cur.accuracy, cur.n_effective)
    return SignalResult(
        name=NAME,
        value=cur.accuracy,
        p_value=shortfall_test(ref, cur),
        n_reference=reference.n,
        n_current=current.n,
        details={
            "accuracy": cur.accuracy,
            "ci95": [low, high],
            "standard_error": float(np.sqrt(cur.variance)),
            "labelled": cur.labelled,
            "coverage": cur.coverage,
            "effective_n": cur.n_effective,
            "effective_errors": errors,
            "effective_trials": trials,
            "unweighted_accuracy": _unweighted(current),
            "reference_accuracy": ref.accuracy,
            "reference_labelled": ref.labelled,
            "reference_errors": ref_errors,
            "reference_trials": ref_trials,
            "test": "fisher_exact_one_sided_on_effective_counts",
        },
    )


def _unweighted(window: WindowSample) -> float:
    assert window.true_label is not None and window.predicted is not None
    known = window.true_label >= 0
    return float((np.asarray(window.predicted)[known] == window.true_label[known]).mean())
