"""Calibration: expected calibration error (ECE) on decisions whose true route is known.

Confidence is the decision's recorded ``confidence`` or else its top class probability; a
decision is correct when its predicted class equals ``true_label``. ECE uses equal-width bins
over [0, 1]: sum over bins of (bin share) * |accuracy - mean confidence|. No analytic p-value:
the threshold comes from the bootstrap calibration like every other signal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.signals.base import SignalResult, WindowSample, insufficient, register


def expected_calibration_error(
    confidence: NDArray[np.floating[Any]], correct: NDArray[np.bool_], *, n_bins: int = 15
) -> float:
    """ECE with ``n_bins`` equal-width bins; a confidence of exactly 1 falls in the last bin."""
    conf = np.asarray(confidence, dtype=np.float64)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    correct_sum = np.bincount(bins, weights=correct.astype(np.float64), minlength=n_bins)
    return float(np.abs(correct_sum - conf_sum).sum() / len(conf))


def labelled(window: WindowSample) -> tuple[NDArray[np.float64], NDArray[np.bool_]] | None:
    """Confidence and correctness of the decisions with a known label, or None if unusable."""
    if window.true_label is None or not (window.has("confidence") or window.has("queue_probs")):
        return None
    if not (window.has("predicted") or window.has("queue_probs")):
        return None
    known = window.true_label >= 0
    probs = window.queue_probs
    predicted = window.predicted
    if predicted is None:
        assert probs is not None
        predicted = np.argmax(probs, axis=1)
    confidence = window.confidence
    if confidence is None:
        assert probs is not None
        confidence = np.max(probs, axis=1)
    correct = np.asarray(predicted)[known] == window.true_label[known]
    return np.asarray(confidence, dtype=np.float64)[known], correct


@register(
    "calibration_ece", requires=("true_label",), min_current=1, group="disagreement", level=True
)
def calibration_ece(
    reference: WindowSample,
    current: WindowSample,
    *,
    rng: np.random.Generator,
    n_bins: int = 15,
    min_labelled: int = 30,
    **_: Any,
) -> SignalResult:
    """ECE of the current window's labelled decisions; the reference's in details."""
    ref, cur = labelled(reference), labelled(current)
    if ref is None or cur is None:
        return insufficient("calibration_ece", reference, current, "no confidence or prediction")
    if min(len(ref[0]), len(cur[0])) < min_labelled:
        return insufficient(
            "calibration_ece", reference, current, f"fewer than {min_labelled} labelled"
        )
    ece = expected_calibration_error(cur[0], cur[1], n_bins=n_bins)
    return SignalResult(
        name="calibration_ece",
        value=ece,
        p_value=None,
        n_reference=reference.n,
        n_current=current.n,
        details={
            "ece": ece,
            "labelled": len(cur[0]),
            "accuracy": float(cur[1].mean()),
            "mean_confidence": float(cur[0].mean()),
            "reference_ece": expected_calibration_error(ref[0], ref[1], n_bins=n_bins),
            "reference_accuracy": float(ref[1].mean()),
            "n_bins": n_bins,
        },
    )
