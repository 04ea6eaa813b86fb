"""Who is to blame for an alert: the world or our change. A pure, paired comparison.

The same labelled tickets of the alert's window, judged twice: the current production
version's decisions and the previous production version's replay. Only the discordant pairs
inform the comparison (McNemar): ``b`` tickets only the current version got right, ``c`` only
the previous one did. The exact two-sided test asks whether ``min(b, c)`` of ``b + c`` fair coin
flips is that unbalanced. The previous version significantly more accurate (``p <= alpha`` and
``c > b``) is ``change_regressed``; otherwise it is about as wrong (or worse), the world moved:
``world_drifted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy.stats import binomtest

EVIDENCE_KEY = "attribution"  # where an alert's evidence keeps it
Verdict = Literal["world_drifted", "change_regressed", "insufficient", "no_previous_version"]


@dataclass(frozen=True)
class Attribution:
    """A verdict with the figures it rests on."""

    verdict: Verdict
    n: int
    current_correct: int = 0
    previous_correct: int = 0
    only_current: int = 0
    only_previous: int = 0
    p_value: float | None = None
    alpha: float = 0.05
    min_labelled: int = 20
    # why the replay stopped before every labelled ticket (the shadow budget spent): the
    # comparison is on the tickets replayed until then
    stopped: str | None = None

    @property
    def current_accuracy(self) -> float | None:
        return self.current_correct / self.n if self.n else None

    @property
    def previous_accuracy(self) -> float | None:
        return self.previous_correct / self.n if self.n else None

    def summary(self) -> str:
        """One line for people: the verdict and why."""
        if self.verdict == "no_previous_version":
            return "no previous production version to replay the window through"
        if self.verdict == "insufficient" and self.stopped:
            return (
                f"{self.n} labelled tickets replayed before the replay stopped "
                f"({self.stopped}), fewer than {self.min_labelled}"
            )
        if self.verdict == "insufficient":
            return f"{self.n} labelled tickets in the window, fewer than {self.min_labelled}"
        figures = (
            f"on {self.n} labelled tickets the current version is right on "
            f"{self.current_correct}, the previous on {self.previous_correct} "
            f"(only current {self.only_current}, only previous {self.only_previous}, "
            f"exact McNemar p = {self.p_value:.3g})"
        )
        if self.stopped:
            figures += f"; replay stopped early: {self.stopped}"
        if self.verdict == "change_regressed":
            return f"the change regressed: {figures}"
        return f"the world drifted: the previous version is about as wrong; {figures}"

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "current_accuracy": self.current_accuracy,
            "previous_accuracy": self.previous_accuracy,
            "summary": self.summary(),
        }


def mcnemar_exact(only_current: int, only_previous: int) -> float:
    """Two-sided exact McNemar p-value of the discordant pair counts (1 with none)."""
    discordant = only_current + only_previous
    if discordant == 0:
        return 1.0
    return float(binomtest(min(only_current, only_previous), discordant, 0.5).pvalue)


def attribute(
    current: Sequence[bool],
    previous: Sequence[bool],
    *,
    alpha: float = 0.05,
    min_labelled: int = 20,
    stopped: str | None = None,
) -> Attribution:
    """Compare the two versions' correctness on the same labelled tickets (paired, in order)."""
    if len(current) != len(previous):
        raise ValueError("the two versions must be judged on the same tickets")
    n = len(current)
    if n < min_labelled:
        return Attribution(
            "insufficient", n, alpha=alpha, min_labelled=min_labelled, stopped=stopped
        )
    only_current = sum(1 for a, b in zip(current, previous, strict=True) if a and not b)
    only_previous = sum(1 for a, b in zip(current, previous, strict=True) if b and not a)
    p = mcnemar_exact(only_current, only_previous)
    regressed = p <= alpha and only_previous > only_current
    return Attribution(
        "change_regressed" if regressed else "world_drifted",
        n,
        current_correct=sum(map(bool, current)),
        previous_correct=sum(map(bool, previous)),
        only_current=only_current,
        only_previous=only_previous,
        p_value=p,
        alpha=alpha,
        min_labelled=min_labelled,
        stopped=stopped,
    )
