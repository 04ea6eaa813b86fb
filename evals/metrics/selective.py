"""Selective routing: how well the agent hands tickets to people, and what a confidence bar buys.

Escalation is scored as a detector: a run is *escalated* when the agent hands it to a person,
*positive* when a person is what it needed. Precision is the share of escalations that were
needed, recall the share of needed escalations made (0.0 where undefined, as ``per_class``).

The accuracy-coverage curve answers "with the bar at t, how many tickets would the agent route
and how many of those would be right?". Each run that a bar could route has a confidence and
an outcome; at threshold t the runs with confidence >= t are routed. Coverage is their share
of *all* runs (those no bar could route count in the denominator), accuracy their share right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_CURVE_POINTS = 101


@dataclass(frozen=True, slots=True)
class EscalationScores:
    precision: float
    recall: float
    f1: float
    escalated: int  # runs handed to a person
    positives: int  # runs that needed a person (the recall's support)
    true_positives: int


@dataclass(frozen=True, slots=True)
class CurvePoint:
    threshold: float
    coverage: float
    accuracy: float
    routed: int


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def escalation_scores(escalated: Sequence[bool], positive: Sequence[bool]) -> EscalationScores:
    """Precision, recall and F1 of escalating, with the counts behind them."""
    if len(escalated) != len(positive):
        raise ValueError(f"{len(escalated)} escalation flags but {len(positive)} truths")
    flags, truth = np.asarray(escalated, dtype=bool), np.asarray(positive, dtype=bool)
    tp, n_esc, n_pos = int((flags & truth).sum()), int(flags.sum()), int(truth.sum())
    return EscalationScores(
        precision=_ratio(tp, n_esc),
        recall=_ratio(tp, n_pos),
        f1=_ratio(2 * tp, n_esc + n_pos),
        escalated=n_esc,
        positives=n_pos,
        true_positives=tp,
    )


def accuracy_coverage_curve(
    confidences: Sequence[float | None],
    correct: Sequence[bool],
    *,
    max_points: int = DEFAULT_CURVE_POINTS,
) -> list[CurvePoint]:
    """The curve, from the highest bar (fewest routed) to the lowest (all routable runs).

    ``confidences[i]`` is None for a run no bar could route (it is never routed). Thresholds
    are the routable runs' own confidences, so every point is a bar one could set; with more
    distinct values than ``max_points``, they are taken at evenly spaced ranks (evenly spaced
    in coverage), always keeping the highest and the lowest. Empty when nothing is routable.
    """
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} outcomes")
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    routable = [(c, bool(ok)) for c, ok in zip(confidences, correct, strict=True) if c is not None]
    if not routable:
        return []
    conf = np.array([c for c, _ in routable], dtype=float)
    if conf.min() < 0 or conf.max() > 1:
        raise ValueError("confidences must lie in [0, 1]")
    order = np.argsort(-conf, kind="stable")
    ranked, hits = conf[order], np.cumsum(np.array([ok for _, ok in routable])[order])
    thresholds = np.unique(ranked)[::-1]
    if thresholds.size > max_points:
        ranks = np.unique(np.round(np.linspace(0, ranked.size - 1, max_points)).astype(int))
        thresholds = np.unique(ranked[ranks])[::-1]
    # Routed at bar t: every run with confidence >= t, i.e. the first m of the ranked runs.
    counts = np.searchsorted(-ranked, -thresholds, side="right")
    return [
        CurvePoint(
            threshold=float(t),
            coverage=int(m) / len(confidences),
            accuracy=float(hits[m - 1]) / int(m),
            routed=int(m),
        )
        for t, m in zip(thresholds, counts, strict=True)
    ]
