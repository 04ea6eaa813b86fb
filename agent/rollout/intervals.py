"""Binomial confidence intervals. Pure."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson(successes: int, n: int, *, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (``None`` without observations): unlike the
    normal interval it stays inside [0, 1] and is honest at 0 and n successes."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} out of range for n={n}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
