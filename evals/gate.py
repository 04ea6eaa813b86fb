"""``eval gate``: does a candidate version score within tolerance of the baseline?

Compared, on the same golden set (DESIGN §6: fail at more than 3% relative below):
- overall: queue accuracy, queue macro-F1, priority accuracy (end to end: human triage is
  not correct, so a version that routes less, or worse, both show);
- overall, where the baseline has support: escalation recall (the share of runs of cases
  whose right route is a person that were handed to one; only when the golden set has such
  cases) and queue accuracy on routed tickets (only when the baseline routed some);
- per segment of the golden set (true queue, true priority) with at least
  ``min_segment_cases`` cases: queue accuracy and priority accuracy (stratified, so a
  regression in one queue cannot hide behind gains elsewhere; ``queue:human_triage`` has
  no priority accuracy).
A row fails when (baseline - candidate) / baseline > ``max_relative_drop``. Rows left out
for want of support are listed in ``skipped`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OVERALL_METRICS = (("queue", "accuracy"), ("queue", "macro_f1"), ("priority", "accuracy"))
ESCALATION_RECALL = "escalation.recall"
ROUTED_ACCURACY = "queue.routed_accuracy"
TO_PERSON_SEGMENT = "queue:human_triage"
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
    skipped: dict[str, str] = field(default_factory=dict)  # "segment metric": why left out
    # Across taxonomies (evals/cross_taxonomy.py): how the two were compared, cases left out.
    notes: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)

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
    skipped: dict[str, str] = {}
    for metric, support, why in _supported_rows(baseline, baseline_segments):
        if support:
            was, now = _overall(baseline, metric), _overall(candidate, metric)
            rows.append(_row(OVERALL, metric, support, was, now, policy))
        else:
            skipped[f"{OVERALL} {metric}"] = why
    small: dict[str, int] = {}
    for segment, base in sorted(baseline_segments.items()):
        cand = candidate_segments.get(segment)
        if cand is None:
            continue
        if base["n"] < policy.min_segment_cases:
            small[segment] = int(base["n"])
            continue
        for metric in SEGMENT_METRICS:
            if metric not in base or metric not in cand:
                skipped[f"{segment} {metric}"] = (
                    "a person's cases are not scored on priority"
                    if segment == TO_PERSON_SEGMENT
                    else "not in both runs' figures"
                )
                continue
            rows.append(_row(segment, metric, int(base["n"]), base[metric], cand[metric], policy))
    return GateResult(policy, rows, small, skipped)


def _supported_rows(
    baseline: dict[str, Any], segments: dict[str, Any]
) -> list[tuple[str, int, str]]:
    """(metric, the baseline's support in cases, why it is left out when that is 0)."""
    to_person = int(segments.get(TO_PERSON_SEGMENT, {}).get("n", 0))
    routed = int(baseline.get("routed_runs", 0))
    return [
        (ESCALATION_RECALL, to_person, "the golden set has no case whose route is human_triage"),
        (ROUTED_ACCURACY, int(baseline["n_cases"]) if routed else 0, "the baseline routed none"),
    ]


def _overall(metrics: dict[str, Any], dotted: str) -> float:
    head, metric = dotted.split(".")
    return float(metrics[head][metric])
