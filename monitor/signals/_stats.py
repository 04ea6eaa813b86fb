"""Small statistical helpers shared by the signals (NumPy/SciPy only)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats


def rate_excess_test(k_ref: int, n_ref: int, k_cur: int, n_cur: int) -> float:
    """One-sided p-value that the current rate of an event exceeds the reference's.

    Fisher's exact test, conditional on the total count: given that ``k_ref + k_cur`` events
    fell among the ``n_ref + n_cur`` trials, the window's share of them is hypergeometric
    under "same rate". The reference rate is never taken as known, let alone as exactly zero,
    so a reference with 0 events in n can still be exceeded with significance, and the test's
    size is at most its level at every true rate (no prior, no normal approximation).
    """
    for name, value in {"k_ref": k_ref, "n_ref": n_ref, "k_cur": k_cur, "n_cur": n_cur}.items():
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if k_ref > n_ref or k_cur > n_cur:
        raise ValueError(f"counts exceed trials: {k_ref}/{n_ref}, {k_cur}/{n_cur}")
    if n_cur == 0 or k_cur == 0:
        return 1.0
    total = k_ref + k_cur
    return float(stats.hypergeom.sf(k_cur - 1, n_ref + n_cur, total, n_cur))


def rate_alarm_count(k_ref: int, n_ref: int, n_cur: int, alpha: float) -> int | None:
    """Fewest events in a window of ``n_cur`` whose :func:`rate_excess_test` p is <= alpha
    (None when even ``n_cur`` of ``n_cur`` would not be)."""
    counts = np.arange(1, n_cur + 1)
    p = stats.hypergeom.sf(counts - 1, n_ref + n_cur, k_ref + counts, n_cur)
    hits = np.flatnonzero(p <= alpha)
    return int(counts[hits[0]]) if len(hits) else None


def wilson_interval(rate: float, n: float, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion observed on ``n`` (possibly effective) trials."""
    if n <= 0:
        return 0.0, 1.0
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    denom = 1.0 + z * z / n
    centre = (rate + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(rate * (1.0 - rate) / n + z * z / (4.0 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def subsample(
    x: NDArray[Any], max_n: int, rng: np.random.Generator
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """At most ``max_n`` rows of ``x`` drawn without replacement, with their indices."""
    if len(x) <= max_n:
        return x, np.arange(len(x))
    index = np.sort(rng.choice(len(x), size=max_n, replace=False))
    return x[index], index


def normalised_entropy(probs: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    """Shannon entropy of each row divided by log K (0: certain, 1: uniform)."""
    p = np.asarray(probs, dtype=np.float64)
    k = p.shape[1]
    if k < 2:
        return np.zeros(len(p))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return np.asarray(-terms.sum(axis=1) / math.log(k))
