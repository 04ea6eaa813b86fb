"""Operational figures of an eval: latency percentiles."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100, linear interpolation as NumPy's default); 0.0 when empty."""
    if not 0 <= q <= 100:
        raise ValueError("q must lie in [0, 100]")
    if not values:
        return 0.0
    return float(np.percentile(np.asarray(values, dtype=float), q))
