"""Combine weak signals into one evidence score, calibrated on the same bootstrap replicates.

Each signal's value becomes its tail probability under its calibrated null (an exact signal's
own p-value), p_s; the score is the weighted Fisher sum S = sum_s w_s * (-ln p_s). Signals are
correlated (embedding drift, novelty and prediction mix often move together), so S is *not*
compared with a chi-squared: it is computed on every calibration replicate too (row b of every
signal comes from the same split) and thresholded at that composite null's quantiles, which
carries the correlation. Beside the sum, the largest single contribution (Tippett's statistic)
is thresholded on its own null the same way; each combination gets half the false-alarm rate.
The sum catches many weak moves at once; the maximum catches one strong move the sum would
dilute among quiet signals. The report also says what moved: new content far from history, a
label-mix shift, an agent that changed on the same traffic, or a change within known content.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from monitor.signals import SignalResult, all_signals
from monitor.stats.calibration import Calibration
from monitor.stats.hysteresis import Severity
from monitor.stats.null_distribution import SMALLEST_TAIL_PROB, NullDistribution

Kind = Literal["new_content", "agent_behaviour", "label_mix", "content_mix", "ops", "none"]

# (kind, group whose move implies it, groups that must stay steady, headline), checked in order.
# Humans and history disagree more both when the agent changed and when the content did (new
# kinds of tickets are routed wrong): disagreement names the agent only on unchanged content.
_KIND_RULES: tuple[tuple[Kind, str, frozenset[str], str], ...] = (
    ("new_content", "novelty", frozenset(), "new content: tickets far from anything in history"),
    (
        "agent_behaviour",
        "disagreement",
        frozenset({"embedding"}),
        "the agent changed: it disagrees more with history/humans on unchanged content",
    ),
    (
        "label_mix",
        "label_mix",
        frozenset(),
        "label-mix shift: known kinds of tickets in new proportions",
    ),
    ("content_mix", "embedding", frozenset(), "content shift within known topics"),
    (
        "agent_behaviour",
        "confidence",
        frozenset(),
        "the agent changed: its confidence or routing outcomes moved",
    ),
    ("ops", "ops", frozenset(), "operations: latency or errors moved"),
)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One signal's share of the evidence: ``evidence`` is w * -ln(tail_prob)."""

    name: str
    group: str
    value: float
    tail_prob: float
    weight: float
    evidence: float
    drifted: bool


@dataclass(frozen=True, slots=True)
class WhatMoved:
    """Which kind of change the evidence points to; ``groups`` maps each to its smallest p."""

    kind: Kind
    summary: str
    groups: dict[str, float]


@dataclass(frozen=True, slots=True)
class Evidence:
    """The composite evidence of one window, its thresholds and severity."""

    score: float
    tail_prob: float
    warning_threshold: float
    critical_threshold: float
    severity: Severity
    contributions: tuple[Contribution, ...]
    what_moved: WhatMoved
    # Fisher's sum alone under its composite null: uniform under no drift, what the sequential
    # layer (:mod:`monitor.stats.sequential`) accumulates across windows
    sum_tail_prob: float = 1.0
    # each signal group's own Fisher sum under its own composite null (same replicates): the
    # sequential layer also accumulates these, so a drift that moves one group (new content
    # moves novelty) is not diluted among the quiet groups
    group_tail_probs: dict[str, float] = field(default_factory=dict)

    def sequential_p_values(self) -> dict[str, float]:
        """The p-values the sequential layer accumulates: the whole sum's, then each group's."""
        return {"evidence": self.sum_tail_prob, **self.group_tail_probs}


def combine(
    results: Iterable[SignalResult],
    calibration: Calibration,
    *,
    weights: Mapping[str, float] | None = None,
    critical_alpha: float | None = None,
    moved_alpha: float = 0.01,
) -> Evidence:
    """Evidence score of a window's signal results under ``calibration``.

    ``warning`` at the calibration's alpha, ``critical`` at ``critical_alpha`` (default
    alpha / 10); a signal group counts as moved when its tail probability is <= moved_alpha.
    """
    specs = all_signals()
    usable = [
        r
        for r in results
        if not r.insufficient
        and math.isfinite(r.value)
        and r.name in calibration.signals
        and calibration.signals[r.name].calibrated
    ]
    weight = {r.name: (weights or {}).get(r.name, 1.0) for r in usable}
    contributions = sorted(
        (_contribution(r, calibration, specs[r.name].group, weight[r.name]) for r in usable),
        key=lambda c: -c.evidence,
    )
    nulls = replicate_nulls(calibration, weight)
    score = float(sum(c.evidence for c in contributions))
    top = max((c.evidence for c in contributions), default=0.0)
    # Two combinations, each at half the false-alarm rate (Bonferroni): Fisher's sum catches
    # many weak moves together, Tippett's maximum one strong move that the sum would dilute
    # among a dozen quiet signals (a priority redefinition shows in the overrides alone).
    alpha = calibration.alpha / 2.0
    crit = (critical_alpha or calibration.alpha / 10.0) / 2.0
    severity: Severity = "none"
    if nulls is None:
        warning = critical = math.inf
        tail_prob = sum_tail_prob = 1.0
    else:
        composite, strongest = nulls
        warning, critical = composite.score_threshold(alpha), composite.score_threshold(crit)
        # A signal whose tail probability is at the floor (beyond every replicate by far) is
        # rarer than any rate one could configure, even across a dozen signals; a threshold
        # extrapolated past that (few replicates, a tiny alpha) would make it unreachable.
        ceiling = max(weight.values()) * -math.log(SMALLEST_TAIL_PROB) * (1.0 - 1e-9)
        top_warning = min(strongest.score_threshold(alpha), ceiling)
        top_critical = min(strongest.score_threshold(crit), ceiling)
        sum_tail_prob = float(composite.tail_prob(score)[()])
        tail_prob = min(1.0, 2.0 * min(sum_tail_prob, float(strongest.tail_prob(top)[()])))
        if score > critical or top > top_critical:
            severity = "critical"
        elif score > warning or top > top_warning:
            severity = "warning"
    return Evidence(
        score,
        tail_prob,
        warning,
        critical,
        severity,
        tuple(contributions),
        what_moved(contributions, moved_alpha=moved_alpha),
        sum_tail_prob,
        group_tail_probs(contributions, calibration, weight) if nulls is not None else {},
    )


def group_tail_probs(
    contributions: Iterable[Contribution], calibration: Calibration, weights: Mapping[str, float]
) -> dict[str, float]:
    """Each group's Fisher sum, as a tail probability under the group's replicate null."""
    by_group: dict[str, list[Contribution]] = {}
    for c in contributions:
        by_group.setdefault(c.group, []).append(c)
    out = {}
    for group, members in sorted(by_group.items()):
        nulls = replicate_nulls(calibration, {c.name: weights[c.name] for c in members})
        assert nulls is not None
        score = sum(c.evidence for c in members)
        out[group] = float(nulls[0].tail_prob(score)[()])
    return out


def _contribution(
    result: SignalResult, calibration: Calibration, group: str, weight: float
) -> Contribution:
    calib = calibration.signals[result.name]
    p = calib.result_tail_prob(result)
    return Contribution(
        result.name,
        group,
        result.value,
        p,
        weight,
        -weight * math.log(p),
        calib.result_is_drift(result),
    )


def replicate_nulls(
    calibration: Calibration, weights: Mapping[str, float]
) -> tuple[NullDistribution, NullDistribution] | None:
    """Null distributions of Fisher's sum and Tippett's maximum over the calibration replicates.

    Row b of every signal comes from the same split, so both statistics are computed on the
    replicates as they are on a real window, without assuming the signals independent.
    """
    if not weights:
        return None
    evidence = np.vstack(
        [
            # NaN replicates (insufficient there) score p = 1, as they would in a real window
            -w * np.log(_replicate_tail_probs(calibration, name))
            for name, w in weights.items()
        ]
    )
    return (
        NullDistribution.fit(evidence.sum(axis=0), "increase"),
        NullDistribution.fit(evidence.max(axis=0), "increase"),
    )


def _replicate_tail_probs(calibration: Calibration, name: str) -> NDArray[np.float64]:
    calib, values = calibration.signals[name], calibration.null_values[name]
    if calib.exact_alpha is not None:  # the replicates' own exact p-values
        return np.where(np.isfinite(values), np.clip(values, SMALLEST_TAIL_PROB, 1.0), 1.0)
    assert calib.null is not None
    return calib.null.tail_prob(values, in_sample=True)


def what_moved(contributions: Iterable[Contribution], *, moved_alpha: float) -> WhatMoved:
    """Classify the change from which signal groups moved, and say it in one line."""
    groups: dict[str, float] = {}
    for c in contributions:
        groups[c.group] = min(groups.get(c.group, 1.0), c.tail_prob)
    moved = {g for g, p in groups.items() if p <= moved_alpha}
    kind: Kind = "none"
    headline = "no signal group moved"
    for rule_kind, group, steady, text in _KIND_RULES:
        if group in moved and not steady & moved:
            kind, headline = rule_kind, text
            break
    ranked = sorted(groups.items(), key=lambda item: item[1])
    detail = ", ".join(f"{g} {'moved' if g in moved else 'steady'} (p={p:.2g})" for g, p in ranked)
    return WhatMoved(kind, f"{headline}; {detail}" if detail else headline, groups)
