"""Unbiased estimates from a sample of reviewed decisions. Pure functions, no I/O.

Decisions reach the review queue with known, unequal probabilities: flagged ones always
(inclusion probability 1), confident ones at the sampling rate. A plain share of overrides among
reviewed decisions would over-represent the flagged, hard ones. Each reviewed decision is
weighted by ``1 / inclusion_prob`` (Horvitz-Thompson) and the rate is the Hajek ratio
``sum(w*y) / sum(w)``, which also tolerates an unknown population size and reviews missing at
random within a sampling stratum. The interval is Wilson's on Kish's effective sample size
``(sum w)^2 / sum(w^2)``, which keeps it inside [0, 1] and honest with few reviews.
The monitor's ``human_override_rate`` signal uses the same estimator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class RateEstimate:
    """An estimated share of all decisions, with a 95% interval and the sample behind it."""

    rate: float | None
    low: float | None
    high: float | None
    reviewed: int
    positives: int
    effective_n: float

    @property
    def known(self) -> bool:
        return self.rate is not None


def wilson_interval(rate: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion observed on ``n`` (possibly fractional) trials."""
    if n <= 0:
        return 0.0, 1.0
    denom = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / denom
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def hajek_rate(flags: Sequence[bool], inclusion_probs: Sequence[float]) -> RateEstimate:
    """Estimated share of all decisions with ``flag`` set, from the reviewed sample.

    ``flags[i]`` says whether reviewed decision i has the property (e.g. was overridden);
    ``inclusion_probs[i]`` is the probability it was put up for review.
    """
    if len(flags) != len(inclusion_probs):
        raise ValueError("flags and inclusion_probs differ in length")
    if any(not 0 < p <= 1 for p in inclusion_probs):
        raise ValueError("inclusion probabilities must be in (0, 1]")
    if not flags:
        return RateEstimate(None, None, None, 0, 0, 0.0)
    weights = [1.0 / p for p in inclusion_probs]
    total = sum(weights)
    rate = sum(w for w, y in zip(weights, flags, strict=True) if y) / total
    effective_n = total * total / sum(w * w for w in weights)
    low, high = wilson_interval(rate, effective_n)
    return RateEstimate(rate, low, high, len(flags), sum(map(bool, flags)), effective_n)


def disagreement_rate(overridden: Sequence[bool], inclusion_probs: Sequence[float]) -> RateEstimate:
    """Estimated share of the agent's decisions a reviewer would change."""
    return hajek_rate(overridden, inclusion_probs)


def accuracy(correct: Sequence[bool], inclusion_probs: Sequence[float]) -> RateEstimate:
    """Estimated share of the agent's decisions that are right (as reviewers judge them)."""
    return hajek_rate(correct, inclusion_probs)
