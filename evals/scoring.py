"""Scores of an eval run: metrics per head, calibration, pass^k, cost, latency, segments.

How human triage counts. The agent either routes a ticket (mode ``agent``) or hands it to
human triage (low confidence, ``unknown``, a failure). So each head reports

- ``accuracy``: over all runs, correct only when the agent routed the ticket and got it right
  (human triage counts as not correct: it is work the agent did not do);
- ``routed_accuracy``: over the runs the agent routed;
- ``model_accuracy``: the classifier's top prediction over all runs, thresholds ignored
  (a failed run counts as wrong);
- ``macro_f1`` (end to end, as ``accuracy``) and ``model_macro_f1``, over the taxonomy's
  classes; per-class precision, recall and F1 are end to end;
- ``ece``: calibration of the classifier's top probability (the routed decision's class for
  routed runs, the predicted class for triaged ones) over every run with a classification.

``coverage`` is the share of runs the agent routed. Runs are pooled: with k runs per case,
every figure but pass^k is over n x k runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from agent.taxonomy import Taxonomy
from evals.golden.cases import GoldenCase
from evals.harness.runner import CaseRun
from evals.metrics import (
    accuracy,
    consistency,
    expected_calibration_error,
    macro_f1,
    pass_hat_k,
    per_class_scores,
    percentile,
)

AGENT_MODE = "agent"
EXACT_MATCH_DISTANCE = 1e-4


def _routed(run: CaseRun) -> bool:
    return run.mode == AGENT_MODE


def _e2e(run: CaseRun, field: str) -> str | None:
    return getattr(run, field) if _routed(run) else None


def head_scores(
    truth: Sequence[str], runs: Sequence[CaseRun], field: str, labels: Sequence[str], bins: int
) -> dict[str, Any]:
    """One head's (``queue`` or ``priority``) scores; ``truth`` aligned with ``runs``."""
    e2e = [_e2e(r, field) for r in runs]
    model = [getattr(r, field) if r.error is None else None for r in runs]
    routed = [(t, r) for t, r in zip(truth, runs, strict=True) if _routed(r)]
    conf_field = "confidence" if field == "queue" else "priority_confidence"
    calibrated = [
        (getattr(r, conf_field), getattr(r, field) == t)
        for t, r in zip(truth, runs, strict=True)
        if getattr(r, conf_field) is not None
    ]
    return {
        "accuracy": accuracy(truth, e2e),
        "routed_accuracy": accuracy([t for t, _ in routed], [getattr(r, field) for _, r in routed]),
        "model_accuracy": accuracy(truth, model),
        "macro_f1": macro_f1(truth, e2e, labels),
        "model_macro_f1": macro_f1(truth, model, labels),
        "ece": expected_calibration_error(
            [c for c, _ in calibrated], [ok for _, ok in calibrated], n_bins=bins
        ),
        "per_class": {
            str(label): {
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
                "support": s.support,
            }
            for label, s in per_class_scores(truth, e2e, labels).items()
        },
    }


def _pass_k(cases: Sequence[GoldenCase], runs: Sequence[CaseRun], k: int) -> dict[str, Any]:
    by_case: list[list[CaseRun]] = [[] for _ in cases]
    for r in runs:
        by_case[r.case].append(r)
    queue_ok = [
        [_e2e(r, "queue") == c.queue for r in rs] for c, rs in zip(cases, by_case, strict=True)
    ]
    route_ok = [
        [_e2e(r, "queue") == c.queue and _e2e(r, "priority") == c.priority for r in rs]
        for c, rs in zip(cases, by_case, strict=True)
    ]
    return {
        "k": k,
        "queue": pass_hat_k(queue_ok, k),
        "route": pass_hat_k(route_ok, k),
        "consistency": consistency([[(r.routed_to, r.priority) for r in rs] for rs in by_case]),
    }


def _operations(runs: Sequence[CaseRun]) -> dict[str, Any]:
    latencies = [r.latency_ms for r in runs]
    cost = sum(r.cost_usd for r in runs)
    return {
        "cost_usd": {"total": cost, "per_run": cost / len(runs) if runs else 0.0},
        "tokens": {
            "prompt": sum(r.prompt_tokens for r in runs),
            "completion": sum(r.completion_tokens for r in runs),
        },
        "latency_ms": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "mean": sum(latencies) / len(latencies) if latencies else 0.0,
        },
        "modes": dict(Counter(r.mode for r in runs)),
        "failures": sum(r.error is not None for r in runs),
        "exact_matches_in_history": sum(
            1
            for r in runs
            if r.run == 0
            and r.nearest_distance is not None
            and r.nearest_distance < EXACT_MATCH_DISTANCE
        ),
    }


def score_run(
    cases: Sequence[GoldenCase],
    runs: Sequence[CaseRun],
    *,
    k: int,
    taxonomy: Taxonomy,
    ece_bins: int = 10,
) -> dict[str, Any]:
    """Every figure of a run (runs of all cases, each k times)."""
    queues = [cases[r.case].queue for r in runs]
    priorities = [cases[r.case].priority for r in runs]
    return {
        "n_cases": len(cases),
        "runs": len(runs),
        "coverage": sum(_routed(r) for r in runs) / len(runs) if runs else 0.0,
        "queue": head_scores(queues, runs, "queue", taxonomy.queue_names, ece_bins),
        "priority": head_scores(priorities, runs, "priority", taxonomy.priority_names, ece_bins),
        "pass_k": _pass_k(cases, runs, k),
        **_operations(runs),
    }


def segment_scores(cases: Sequence[GoldenCase], runs: Sequence[CaseRun]) -> dict[str, Any]:
    """Per segment of the golden set (true queue, true priority): its size and accuracies."""
    members: dict[str, list[CaseRun]] = {}
    for r in runs:
        case = cases[r.case]
        for seg in (f"queue:{case.queue}", f"priority:{case.priority}"):
            members.setdefault(seg, []).append(r)
    out = {}
    for seg, rs in sorted(members.items()):
        q = [cases[r.case].queue for r in rs]
        p = [cases[r.case].priority for r in rs]
        out[seg] = {
            "n": len({r.case for r in rs}),
            "queue_accuracy": accuracy(q, [_e2e(r, "queue") for r in rs]),
            "priority_accuracy": accuracy(p, [_e2e(r, "priority") for r in rs]),
            "coverage": sum(_routed(r) for r in rs) / len(rs),
        }
    return out


def predictions(runs: Sequence[CaseRun]) -> list[list[Any]]:
    """The first run of each case, compactly: routed_to, queue, priority, confidence."""
    first = [r for r in runs if r.run == 0]
    return [
        [r.routed_to, r.queue, r.priority, None if r.confidence is None else round(r.confidence, 4)]
        for r in sorted(first, key=lambda r: r.case)
    ]
