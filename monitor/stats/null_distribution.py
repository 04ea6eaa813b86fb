"""A signal's distribution under no drift, with a fitted tail for rare false-alarm rates.

The null is a set of bootstrap replicates of the signal. Values are first *oriented* so that
large means bad: ``increase`` keeps the value, ``decrease`` negates it, ``two_sided`` takes the
distance from the null median. Tail probabilities and quantiles are empirical inside the
sample; beyond its top ``tail_share`` they come from a generalised Pareto distribution (GPD)
fitted to the exceedances (peaks over threshold, Pickands-Balkema-de Haan), because a false-
alarm rate of one per 30 days on 15-minute windows (alpha ~ 3.5e-4) needs quantiles far past
what a few hundred replicates show. The GPD is fitted by probability-weighted moments (Hosking
& Wallis 1987): closed form, stable on a few dozen points. Its shape is clipped to [0, 0.5]:
a fitted negative shape (a bounded tail) would put rare quantiles too low and raise false
alarms, so light tails are treated as exponential, which errs on the side of fewer alarms.
The tail used is the *predictive* one: 1/k is added to the shape fitted on k exceedances, which
accounts for the error of the fitted scale (exactly so for an exponential tail; see ``fit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from monitor.signals.base import Direction

MIN_TAIL_POINTS = 10
MIN_EXCEEDANCES = 3
SHAPE_LIMIT = 0.5
SMALLEST_TAIL_PROB = 1e-12  # bounds -log(p) so one signal cannot swamp a combination


def fit_gpd(exceedances: NDArray[np.float64]) -> tuple[float, float]:
    """(shape, scale) of a GPD fitted to positive exceedances by probability-weighted moments."""
    y = np.sort(exceedances)
    a0 = float(y.mean()) if len(y) else 0.0
    if len(y) < 3 or a0 <= 0.0:
        return 0.0, max(a0, 1e-12)
    plotting = (np.arange(1, len(y) + 1) - 0.35) / len(y)
    a1 = float(((1.0 - plotting) * y).mean())
    denom = a0 - 2.0 * a1
    if denom <= 0.0:
        return 0.0, a0
    shape = float(np.clip(2.0 - a0 / denom, 0.0, SHAPE_LIMIT))  # SciPy's sign; light tails: 0
    scale = a0 * (1.0 - shape)  # the GPD mean is scale / (1 - shape)
    return shape, max(scale, 1e-12)


@dataclass(frozen=True, slots=True)
class NullDistribution:
    """Oriented null scores (sorted) and the GPD fitted above ``tail_start``."""

    direction: Direction
    centre: float
    scores: NDArray[np.float64]
    tail_start: float
    tail_mass: float
    tail_shape: float
    tail_scale: float

    @classmethod
    def fit(
        cls, values: ArrayLike, direction: Direction, *, tail_share: float = 0.1
    ) -> NullDistribution:
        """Fit from raw null values (NaN values, from insufficient replicates, are dropped)."""
        raw = np.asarray(values, dtype=np.float64)
        raw = raw[np.isfinite(raw)]
        if len(raw) == 0:
            raise ValueError("no finite null values to fit")
        centre = float(np.median(raw))
        scores = np.sort(_orient(raw, direction, centre))
        k = min(len(scores) - 1, max(MIN_TAIL_POINTS, int(tail_share * len(scores))))
        tail_start = float(scores[-k - 1]) if k > 0 else float(scores[-1])
        exceedances = scores[scores > tail_start] - tail_start
        if len(exceedances) >= MIN_EXCEEDANCES:
            shape, scale = fit_gpd(exceedances)
            # Predictive tail: a fresh window meets the *estimated* tail, and k exceedances pin
            # its scale down only to about 1/sqrt(k). Averaged over that error, an exponential
            # tail whose scale is the mean of k exceedances is exactly a GPD of shape 1/k
            # (P(X > x) = (1 + x / (k * scale))^-k), so 1/k is added to the fitted shape.
            # Without it, thresholds 500x past the sample fell short often enough to raise
            # false alarms at 3-4x the configured rate (docs/monitor.md).
            shape += 1.0 / len(exceedances)
        else:
            # Ties at the top (a discrete statistic such as a rate of a few events): nothing
            # to fit above tail_start; an exponential tail on the scores' own spread, so a
            # value beyond every replicate is unlikely, not impossible (and never NaN).
            shape, scale = 0.0, max(float(np.std(scores)), 1e-12)
        tail_mass = (np.count_nonzero(scores > tail_start) + 1) / (len(scores) + 1)
        return cls(direction, centre, scores, tail_start, tail_mass, shape, scale)

    def orient(self, values: ArrayLike) -> NDArray[np.float64]:
        """Raw signal values as scores where larger is worse."""
        return _orient(np.asarray(values, dtype=np.float64), self.direction, self.centre)

    def tail_prob(self, values: ArrayLike, *, in_sample: bool = False) -> NDArray[np.float64]:
        """P(null score >= score of each value): empirical, then the GPD beyond ``tail_start``.

        ``in_sample`` is for the null's own replicates: each is then left out of its own count,
        so its tail probability has the same law as a fresh value's.
        """
        s = self.orient(values)
        at_least = len(self.scores) - np.searchsorted(self.scores, s, side="left")
        count, size = (
            (at_least, len(self.scores)) if in_sample else (at_least + 1, len(self.scores) + 1)
        )
        empirical = count / float(size)
        excess = np.maximum(s - self.tail_start, 0.0)
        fitted = self.tail_mass * stats.genpareto.sf(excess, self.tail_shape, scale=self.tail_scale)
        p = np.where(s > self.tail_start, fitted, empirical)
        p = np.where(np.isnan(s), 1.0, p)
        return np.asarray(np.maximum(p, SMALLEST_TAIL_PROB))

    def score_threshold(self, alpha: float) -> float:
        """Oriented score exceeded with probability ``alpha`` under the null."""
        if alpha >= self.tail_mass:
            return float(np.quantile(self.scores, 1.0 - alpha, method="higher"))
        excess = stats.genpareto.isf(alpha / self.tail_mass, self.tail_shape, scale=self.tail_scale)
        return self.tail_start + float(excess)

    def thresholds(self, alpha: float) -> tuple[float | None, float | None]:
        """(lower, upper) bounds on the raw value; a value outside them is a drift."""
        t = self.score_threshold(alpha)
        if self.direction == "increase":
            return None, t
        if self.direction == "decrease":
            return -t, None
        return self.centre - t, self.centre + t

    def summary(self) -> dict[str, Any]:
        q50, q90, q99 = np.quantile(self.scores, [0.5, 0.9, 0.99])
        return {
            "n": len(self.scores),
            "centre": self.centre,
            "score_mean": float(self.scores.mean()),
            "score_std": float(self.scores.std()),
            "score_q50": float(q50),
            "score_q90": float(q90),
            "score_q99": float(q99),
            "score_max": float(self.scores[-1]),
            "tail_start": self.tail_start,
            "tail_shape": self.tail_shape,
            "tail_scale": self.tail_scale,
        }


def _orient(values: NDArray[np.float64], direction: Direction, centre: float) -> NDArray[Any]:
    if direction == "increase":
        return values
    if direction == "decrease":
        return -values
    return np.abs(values - centre)
