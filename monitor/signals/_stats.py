"""Small statistical helpers shared by the signals (NumPy/SciPy only)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats


def two_proportion_test(
    successes_ref: float, n_ref: float, successes_cur: float, n_cur: float
) -> tuple[float, float]:
    """Pooled two-proportion z-test that the current rate exceeds the reference rate.

    Returns ``(z, one-sided p)``; the two-sided version equals an uncorrected 2x2 chi-squared.
    """
    pooled = (successes_ref + successes_cur) / (n_ref + n_cur)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_ref + 1.0 / n_cur))
    diff = successes_cur / n_cur - successes_ref / n_ref
    if se == 0.0:
        return 0.0, 1.0
    z = diff / se
    return z, float(stats.norm.sf(z))


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
