"""Expected calibration error with equal-width confidence bins.

Bin b holds the predictions whose confidence c falls in ((b-1)/B, b/B] (the first bin also
takes c = 0). ECE = sum over bins of |bin| / n * |accuracy(bin) - mean confidence(bin)|.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    lower: float
    upper: float
    n: int
    confidence: float
    accuracy: float


def _bin_index(confidences: np.ndarray, n_bins: int) -> np.ndarray:
    # Rounded first, so that 0.3 * 10 = 3.0000000000000004 stays in the bin ending at 0.3.
    scaled = np.round(confidences * n_bins, 9)
    return np.clip(np.ceil(scaled).astype(int) - 1, 0, n_bins - 1)


def reliability(
    confidences: Sequence[float], correct: Sequence[bool], *, n_bins: int = 10
) -> list[CalibrationBin]:
    """The non-empty bins: how many predictions, their mean confidence and their accuracy."""
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} outcomes")
    conf = np.asarray(confidences, dtype=float)
    if conf.size and (conf.min() < 0 or conf.max() > 1):
        raise ValueError("confidences must lie in [0, 1]")
    hits = np.asarray(correct, dtype=float)
    index = _bin_index(conf, n_bins)
    bins = []
    for b in range(n_bins):
        mask = index == b
        if mask.any():
            bins.append(
                CalibrationBin(
                    lower=b / n_bins,
                    upper=(b + 1) / n_bins,
                    n=int(mask.sum()),
                    confidence=float(conf[mask].mean()),
                    accuracy=float(hits[mask].mean()),
                )
            )
    return bins


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], *, n_bins: int = 10
) -> float:
    """Weighted mean gap between accuracy and confidence over the bins (0.0 for no cases)."""
    bins = reliability(confidences, correct, n_bins=n_bins)
    total = sum(b.n for b in bins)
    if not total:
        return 0.0
    return sum(b.n / total * abs(b.accuracy - b.confidence) for b in bins)
