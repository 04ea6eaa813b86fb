"""Scores of an eval run: metrics per head, calibration, pass^k, cost, latency, segments,
escalation and the accuracy-coverage curve.

How human triage counts. The agent either routes a ticket (mode ``agent``) or hands it to
human triage (``routed_to == human_triage``: low confidence, ``unknown``, ``novel``, a
failure). A golden case's right route is a queue, or a person (``human_triage``: out of
scope, say). End to end, a run's answer is its queue when routed and ``human_triage`` when
handed over; it is right when it equals the case's route. So each head reports

- ``accuracy``: over all runs, end to end (handing an in-scope ticket to a person is not
  correct: it is work the agent did not do; handing a person's case to a person is);
- ``routed_accuracy``: over the runs the agent routed (auto-routed accuracy);
- ``model_accuracy``: the classifier's top prediction over all runs, thresholds ignored
  (a failed run counts as wrong; the classifier's ``unknown`` is its way of saying "a person");
- ``macro_f1`` (end to end, as ``accuracy``) and ``model_macro_f1``, over the taxonomy's
  classes; per-class precision, recall and F1 are end to end, with a ``human_triage`` row
  when the golden set has such cases (its precision and recall are the escalation's);
- ``ece``: calibration of the classifier's top probability (the routed decision's class for
  routed runs, the predicted class for triaged ones) over every run with a classification.

The priority head scores the runs of cases whose right route is a queue: a person's case has
no priority to get right (its priority, if the golden set gives one, is not scored).

``coverage`` is the share of runs the agent routed. ``escalation`` scores handing over as a
detector (escalated = routed to ``human_triage``): against the cases whose right route is a
person, and (``errors``) against those plus the runs whose classifier answer was wrong, i.e.
every run a person was needed for. ``curve`` is the accuracy-coverage curve over the queue
confidence of the runs a confidence bar decides (routed, or handed over for low confidence;
other hand-overs stay with people at every bar). Runs are pooled: with k runs per case, every
figure but pass^k is over n x k runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from agent.taxonomy import HUMAN_TRIAGE, UNKNOWN, Taxonomy
from evals.golden.cases import GoldenCase
from evals.harness.runner import CaseRun
from evals.metrics import (
    accuracy,
    accuracy_coverage_curve,
    consistency,
    escalation_scores,
    expected_calibration_error,
    macro_f1,
    pass_hat_k,
    per_class_scores,
    percentile,
)

AGENT_MODE = "agent"
# Modes a confidence bar decides: routed, or handed over because the bar was not met.
BAR_MODES = (AGENT_MODE, "low_confidence")
EXACT_MATCH_DISTANCE = 1e-4


def _routed(run: CaseRun) -> bool:
    return run.mode == AGENT_MODE


def _escalated(run: CaseRun) -> bool:
    return run.routed_to == HUMAN_TRIAGE


def _e2e(run: CaseRun, field: str) -> str | None:
    """The run's answer end to end: the routed class, or ``human_triage`` when handed over."""
    if _routed(run):
        answer: str | None = getattr(run, field)
        return answer
    return HUMAN_TRIAGE if _escalated(run) else None


def _model(run: CaseRun, field: str) -> str | None:
    """The classifier's own answer (thresholds ignored); ``unknown`` means a person."""
    if run.error is not None:
        return None
    answer: str | None = getattr(run, field)
    return HUMAN_TRIAGE if answer == UNKNOWN else answer


def head_scores(
    truth: Sequence[str], runs: Sequence[CaseRun], field: str, labels: Sequence[str], bins: int
) -> dict[str, Any]:
    """One head's (``queue`` or ``priority``) scores; ``truth`` aligned with ``runs``.

    ``labels`` are the taxonomy's classes (macro-F1's); per-class scores add
    ``human_triage`` when a true label is one."""
    e2e = [_e2e(r, field) for r in runs]
    model = [_model(r, field) for r in runs]
    routed = [(t, r) for t, r in zip(truth, runs, strict=True) if _routed(r)]
    conf_field = "confidence" if field == "queue" else "priority_confidence"
    calibrated = [
        (getattr(r, conf_field), _model(r, field) == t)
        for t, r in zip(truth, runs, strict=True)
        if getattr(r, conf_field) is not None
    ]
    classes = [*labels, HUMAN_TRIAGE] if HUMAN_TRIAGE in truth else list(labels)
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
            for label, s in per_class_scores(truth, e2e, classes).items()
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
        [
            _e2e(r, "queue") == c.queue and (c.to_person or _e2e(r, "priority") == c.priority)
            for r in rs
        ]
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
    to_queue = [r for r in runs if not cases[r.case].to_person]
    priorities = [str(cases[r.case].priority) for r in to_queue]
    return {
        "n_cases": len(cases),
        "runs": len(runs),
        "routed_runs": sum(_routed(r) for r in runs),
        "coverage": sum(_routed(r) for r in runs) / len(runs) if runs else 0.0,
        "queue": head_scores(queues, runs, "queue", taxonomy.queue_names, ece_bins),
        "priority": head_scores(
            priorities, to_queue, "priority", taxonomy.priority_names, ece_bins
        ),
        "escalation": escalation(cases, runs),
        "curve": curve(cases, runs),
        "pass_k": _pass_k(cases, runs, k),
        **_operations(runs),
    }


def _detector(escalated: Sequence[bool], positive: Sequence[bool]) -> dict[str, Any]:
    s = escalation_scores(escalated, positive)
    return {
        "precision": s.precision,
        "recall": s.recall,
        "f1": s.f1,
        "positives": s.positives,
        "true_positives": s.true_positives,
    }


def escalation(cases: Sequence[GoldenCase], runs: Sequence[CaseRun]) -> dict[str, Any]:
    """Handing over as a detector: of cases whose right route is a person (top level), and
    (``errors``) of those plus the runs whose classifier answer was wrong."""
    escalated = [_escalated(r) for r in runs]
    to_person = [cases[r.case].to_person for r in runs]
    wrong = [_model(r, "queue") != cases[r.case].queue for r in runs]
    return {
        "escalated": sum(escalated),
        "rate": sum(escalated) / len(runs) if runs else 0.0,
        **_detector(escalated, to_person),
        "errors": _detector(escalated, [p or w for p, w in zip(to_person, wrong, strict=True)]),
    }


def curve(cases: Sequence[GoldenCase], runs: Sequence[CaseRun]) -> list[dict[str, Any]]:
    """Accuracy-coverage points (queue head), highest confidence bar first."""
    decidable = [r.mode in BAR_MODES and r.queue is not None for r in runs]
    points = accuracy_coverage_curve(
        [r.confidence if ok else None for r, ok in zip(runs, decidable, strict=True)],
        [r.queue == cases[r.case].queue for r in runs],
    )
    return [
        {"threshold": p.threshold, "coverage": p.coverage, "accuracy": p.accuracy, "n": p.routed}
        for p in points
    ]


def segment_scores(cases: Sequence[GoldenCase], runs: Sequence[CaseRun]) -> dict[str, Any]:
    """Per segment of the golden set (true queue, true priority): its size and accuracies.

    Cases whose right route is a person form the segment ``queue:human_triage`` (its queue
    accuracy is the share handed over); they have no priority accuracy and no priority
    segment."""
    members: dict[str, list[CaseRun]] = {}
    for r in runs:
        case = cases[r.case]
        segments = [f"queue:{case.queue}"]
        if not case.to_person:
            segments.append(f"priority:{case.priority}")
        for seg in segments:
            members.setdefault(seg, []).append(r)
    out: dict[str, Any] = {}
    for seg, rs in sorted(members.items()):
        q = [cases[r.case].queue for r in rs]
        out[seg] = {
            "n": len({r.case for r in rs}),
            "queue_accuracy": accuracy(q, [_e2e(r, "queue") for r in rs]),
            "coverage": sum(_routed(r) for r in rs) / len(rs),
        }
        to_queue = [r for r in rs if not cases[r.case].to_person]
        if to_queue:
            out[seg]["priority_accuracy"] = accuracy(
                [cases[r.case].priority for r in to_queue], [_e2e(r, "priority") for r in to_queue]
            )
    return out


def predictions(runs: Sequence[CaseRun]) -> list[list[Any]]:
    """The first run of each case, compactly: routed_to, queue, priority, confidence."""
    first = [r for r in runs if r.run == 0]
    return [
        [r.routed_to, r.queue, r.priority, None if r.confidence is None else round(r.confidence, 4)]
        for r in sorted(first, key=lambda r: r.case)
    ]
