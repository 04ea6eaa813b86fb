"""Eval metrics: pure functions over predictions, each unit-tested against known values."""

from evals.metrics.calibration import CalibrationBin, expected_calibration_error, reliability
from evals.metrics.classification import ClassScores, accuracy, macro_f1, per_class_scores
from evals.metrics.consistency import consistency, pass_hat_k
from evals.metrics.operations import percentile
from evals.metrics.selective import (
    CurvePoint,
    EscalationScores,
    accuracy_coverage_curve,
    escalation_scores,
)

__all__ = [
    "CalibrationBin",
    "ClassScores",
    "CurvePoint",
    "EscalationScores",
    "accuracy",
    "accuracy_coverage_curve",
    "consistency",
    "escalation_scores",
    "expected_calibration_error",
    "macro_f1",
    "pass_hat_k",
    "per_class_scores",
    "percentile",
    "reliability",
]
