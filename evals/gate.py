"""``eval gate``: does a candidate version score within tolerance of the baseline?

Compared, on the same golden set (DESIGN §6: fail at more than 3% relative below):
- overall: queue accuracy, queue macro-F1, priority accuracy (end to end: human triage is
  not correct, so a version that routes less, or worse, both show);
- per segment of the golden set (true queue, true priority) with at least
  ``min_segment_cases`` cases: queue accuracy and priority accuracy (stratified, so a
  regression in one queue cannot hide behind gains elsewhere).
A row fails when (baseline - candidate) / baseline > ``max_relative_drop``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OVERALL_METRICS = (("queue", "accuracy"), ("queue", "macro_f1"), ("priority", "accuracy"))
SEGMENT_METRICS = ("queue_accuracy", "priority_accuracy")
OVERALL = "all"
EPSILON = 1e-9


@dataclass(frozen=True)
class GatePolicy:
    max_relative_drop: float = 0.03
    min_segment_cases: int = 30


@dataclass(frozen=True)
class GateRow:
    segment: str
    metric: str
    n: int
    baseline: float
    candidate: float
    relative_drop: float
    failed: bool


@dataclass(frozen=True)
class GateResult:
    policy: GatePolicy
    rows: list[GateRow]
    small_segments: dict[str, int] = field(default_factory=dict)  # left out: too few cases

    @property
    def passed(self) -> bool:
        return not any(r.failed for r in self.rows)

    @property
    def failures(self) -> list[GateRow]:
        return [r for r in self.rows if r.failed]


def relative_drop(baseline: float, candidate: float) -> float:
    """How far below the baseline the candidate is, as a share of the baseline (<0: above)."""
    if baseline <= 0:
        return 0.0  # nothing to lose
    return (baseline - candidate) / baseline


def _row(segment: str, metric: str, n: int, base: float, cand: float, p: GatePolicy) -> GateRow:
    drop = relative_drop(base, cand)
    return GateRow(segment, metric, n, base, cand, drop, drop > p.max_relative_drop + EPSILON)


def compare(
    *,
    candidate: dict[str, Any],
    candidate_segments: dict[str, Any],
    baseline: dict[str, Any],
    baseline_segments: dict[str, Any],
    policy: GatePolicy,
) -> GateResult:
    """Gate rows for the overall metrics and every large enough segment."""
    n = int(baseline["n_cases"])
    rows = [
        _row(
            OVERALL, f"{head}.{metric}", n, baseline[head][metric], candidate[head][metric], policy
        )
        for head, metric in OVERALL_METRICS
    ]
    small: dict[str, int] = {}
    for segment, base in sorted(baseline_segments.items()):
        cand = candidate_segments.get(segment)
        if cand is None:
            continue
        if base["n"] < policy.min_segment_cases:
            small[segment] = int(base["n"])
            continue
        rows.extend(
            _row(segment, metric, int(base["n"]), base[metric], cand[metric], policy)
            for metric in SEGMENT_METRICS
        )
    return GateResult(policy, rows, small)
