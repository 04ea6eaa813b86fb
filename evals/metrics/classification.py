"""Accuracy, per-class precision/recall/F1 and macro-F1 of one prediction head.

Predictions may hold labels outside ``labels`` (``human_triage``, ``unknown``, ``None`` for a
failed run): they never count as correct, lower the recall of the true class, and add to no
class's precision. Macro-F1 averages F1 over ``labels`` (the taxonomy's classes), as
scikit-learn's ``f1_score(labels=..., average="macro", zero_division=0)`` does.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


def _check(y_true: Sequence[object], y_pred: Sequence[object]) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")


def accuracy(y_true: Sequence[Hashable], y_pred: Sequence[Hashable | None]) -> float:
    """Share of predictions equal to the truth (0.0 for no cases)."""
    _check(y_true, y_pred)
    if not y_true:
        return 0.0
    return sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / len(y_true)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def per_class_scores(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable | None], labels: Sequence[Hashable]
) -> dict[Hashable, ClassScores]:
    """Precision, recall, F1 and support of each label (0.0 where undefined)."""
    _check(y_true, y_pred)
    out: dict[Hashable, ClassScores] = {}
    for label in labels:
        tp = sum(t == label and p == label for t, p in zip(y_true, y_pred, strict=True))
        predicted = sum(p == label for p in y_pred)
        support = sum(t == label for t in y_true)
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        f1 = _ratio(2 * tp, predicted + support)
        out[label] = ClassScores(precision, recall, f1, support)
    return out


def macro_f1(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable | None], labels: Sequence[Hashable]
) -> float:
    """Unweighted mean of the labels' F1 scores."""
    if not labels:
        return 0.0
    scores = per_class_scores(y_true, y_pred, labels)
    return sum(s.f1 for s in scores.values()) / len(labels)
