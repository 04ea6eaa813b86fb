"""Selective routing: the confidence threshold above which tickets are routed automatically.

``fit_target_accuracy`` uses Learn-then-Test (Angelopoulos et al., 2021) with fixed-sequence
testing: thresholds are tested from the strictest down; at each, the null "auto-routed accuracy
is below the target" is tested with an exact binomial (Clopper-Pearson) tail p-value on the
held-out tickets the threshold would auto-route, and testing stops at the first threshold whose
null cannot be rejected at ``delta``. Fixed-sequence testing controls the family-wise error at
``delta`` without a multiplicity correction, so with probability at least 1 - delta the chosen
threshold routes tickets right at least ``target`` of the time. The grid and where testing starts
depend on the confidences only, never on which tickets were right (docs/abstention.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import binom

DEFAULT_DELTA = 0.05
GRID = tuple(i / 100 for i in range(99, -1, -1))  # the strictest threshold first


@dataclass(frozen=True)
class SelectiveFit:
    """The fitted threshold and what it implies on the held-out tickets."""

    method: str
    min_confidence: float
    target: float
    coverage: float  # share of held-out tickets auto-routed (neither novel nor below it)
    accuracy: float | None  # their accuracy (None: none auto-routed)
    n: int
    delta: float | None = None
    feasible: bool = True

    def to_thresholds(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    def describe(self) -> str:
        acc = "n/a" if self.accuracy is None else f"{self.accuracy:.3f}"
        head = f"min_confidence {self.min_confidence:.2f} ({self.method} {self.target:g})"
        if not self.feasible:
            head = (
                f"no threshold reaches target accuracy {self.target:g}: every ticket to humans"
                if self.method == "target_accuracy"
                else f"novel tickets alone exceed the escalation share {self.target:g}"
            )
        return (
            f"{head}: {self.coverage:.1%} of {self.n} held-out tickets auto-routed, accuracy {acc}"
        )


def _arrays(
    confidence: Sequence[float], correct: Sequence[bool], held: Sequence[bool]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = np.asarray(confidence, dtype=float)
    y = np.asarray(correct, dtype=bool)
    h = np.asarray(held, dtype=bool)
    if not c.shape == y.shape == h.shape:
        raise ValueError("confidence, correct and escalated must have one entry per ticket")
    if c.size == 0:
        raise ValueError("selective routing needs held-out tickets; there are none")
    return c, y, h


def error_p_value(errors: int, n: int, target: float) -> float:
    """Exact binomial p-value of "accuracy < target" given ``errors`` among ``n`` tickets."""
    return float(binom.cdf(errors, n, 1.0 - target))


def _summary(
    c: np.ndarray, y: np.ndarray, h: np.ndarray, threshold: float
) -> tuple[float, float | None]:
    auto = ~h & (c >= threshold)
    return float(auto.mean()), (float(y[auto].mean()) if auto.any() else None)


def fit_target_accuracy(
    *,
    confidence: Sequence[float],
    correct: Sequence[bool],
    escalated: Sequence[bool],
    target: float,
    delta: float = DEFAULT_DELTA,
) -> SelectiveFit:
    """The lowest threshold whose auto-routed accuracy is >= ``target`` with confidence
    1 - ``delta``. ``escalated`` marks tickets the novelty gate sends to humans anyway."""
    if not 0 < target < 1:
        raise ValueError(f"target accuracy must be in (0, 1), got {target}")
    c, y, h = _arrays(confidence, correct, escalated)
    # A threshold auto-routing fewer tickets than this cannot be accepted even with no errors.
    least = int(np.ceil(np.log(delta) / np.log(target)))
    chosen = None
    for lam in GRID:
        auto = ~h & (c >= lam)
        n = int(auto.sum())
        if n < least:
            continue  # depends on confidences only: skipping it looks at no outcome
        if error_p_value(int(n - y[auto].sum()), n, target) > delta:
            break
        chosen = lam
    if chosen is None:
        return SelectiveFit("target_accuracy", 1.01, target, 0.0, None, c.size, delta, False)
    coverage, accuracy = _summary(c, y, h, chosen)
    return SelectiveFit("target_accuracy", chosen, target, coverage, accuracy, c.size, delta)


def fit_target_escalation(
    *,
    confidence: Sequence[float],
    correct: Sequence[bool],
    escalated: Sequence[bool],
    target: float,
) -> SelectiveFit:
    """The highest threshold escalating at most ``target`` of tickets (novel ones included),
    counted conformally: (1 + escalated held-out tickets) / (n + 1) <= target."""
    if not 0 < target < 1:
        raise ValueError(f"target escalation share must be in (0, 1), got {target}")
    c, y, h = _arrays(confidence, correct, escalated)
    chosen = None
    for lam in GRID:
        share = (1 + int((h | (c < lam)).sum())) / (c.size + 1)
        if share <= target:
            chosen = lam
            break
    feasible = chosen is not None
    threshold = chosen if chosen is not None else 0.0
    coverage, accuracy = _summary(c, y, h, threshold)
    return SelectiveFit(
        "target_escalation", threshold, target, coverage, accuracy, c.size, None, feasible
    )
