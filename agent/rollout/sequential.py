"""An always-valid sequential test for a guarded rollout: mixture likelihood ratios (e-values)
on Bernoulli streams, and the verdict they give. Pure.

Each e-value ``E_n`` is a mixture, over alternatives, of likelihood ratios against the
boundary of a one-sided null; every such ratio is a nonnegative supermartingale under every
parameter of the null, so is the mixture, and Ville's inequality gives
``P(sup_n E_n >= 1/alpha) <= alpha``: the test may be read after every ticket, for as long as
one likes, and stops wrongly with probability at most ``alpha``.

Two streams feed it:

* **discordant label pairs**: a baseline and a candidate decision, both with a label
  (reviewed, or a helpdesk outcome), one right and one wrong. On a shadow they are the same
  ticket (a paired, McNemar-style sign test); on a canary, the i-th labelled decision of each
  version within one segment (independent draws: the pair's candidate is the wrong one with
  probability ``p_c(1-p_b) / (p_c(1-p_b) + p_b(1-p_c))``, at most 1/2 exactly when the
  candidate's error (override) rate is at most the baseline's). ``theta`` is the chance that the
  candidate is the wrong one of a discordant pair.
* **agreement** (shadow only): whether the candidate routes a ticket where production did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy.special import betainc, betaln

Action = Literal["promote", "hold", "roll back"]


def _log_partial_beta(s: int, f: int, lo: float, hi: float) -> float:
    """log of the integral of p^s (1-p)^f over [lo, hi]."""
    mass = float(betainc(s + 1, f + 1, hi) - betainc(s + 1, f + 1, lo))
    return betaln(s + 1, f + 1) + math.log(max(mass, 1e-300))


def e_above(successes: int, failures: int, bound: float) -> float:
    """E-value against H0: p <= ``bound`` (a uniform mixture over alternatives in [bound, 1])."""
    if not 0 < bound < 1:
        raise ValueError("bound must be in (0, 1)")
    log_null = successes * math.log(bound) + failures * math.log1p(-bound)
    log_mix = _log_partial_beta(successes, failures, bound, 1.0) - math.log1p(-bound)
    return math.exp(min(log_mix - log_null, 700.0))


def e_below(successes: int, failures: int, bound: float) -> float:
    """E-value against H0: p >= ``bound`` (a uniform mixture over alternatives in [0, bound])."""
    if not 0 < bound < 1:
        raise ValueError("bound must be in (0, 1)")
    log_null = successes * math.log(bound) + failures * math.log1p(-bound)
    log_mix = _log_partial_beta(successes, failures, 0.0, bound) - math.log(bound)
    return math.exp(min(log_mix - log_null, 700.0))


@dataclass(frozen=True)
class Evidence:
    """What the sequential test saw: discordant pairs, and agreement where there is one."""

    candidate_worse: int  # discordant pairs where the candidate was the wrong one
    candidate_better: int
    agreed: int | None = None  # shadow: tickets routed alike, of ``compared``
    compared: int | None = None


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str
    e_worse: float
    e_not_worse: float
    e_low_agreement: float | None


def verdict(
    evidence: Evidence,
    *,
    alpha: float = 0.05,
    margin: float = 0.1,
    min_agreement: float = 0.8,
) -> Verdict:
    """``roll back`` when the candidate is worse on labels (theta > 1/2) or agrees with
    production less than ``min_agreement``, each at level alpha/2; ``promote`` when it is not
    worse by more than ``margin`` (theta < 1/2 + margin) at level alpha and its agreement is not
    shown to be low; ``hold`` until one of them is reached."""
    w, b = evidence.candidate_worse, evidence.candidate_better
    e_worse = e_above(w, b, 0.5)
    e_not_worse = e_below(w, b, 0.5 + margin)
    e_agree = None
    if evidence.agreed is not None and evidence.compared:
        e_agree = e_below(evidence.agreed, evidence.compared - evidence.agreed, min_agreement)
    rollback_at = 2.0 / alpha
    if e_worse >= rollback_at:
        reason = f"worse on labelled tickets: {w} of {w + b} discordant pairs (E={e_worse:.1f})"
        return Verdict("roll back", reason, e_worse, e_not_worse, e_agree)
    if e_agree is not None and e_agree >= rollback_at:
        reason = (
            f"agrees with production on {evidence.agreed} of {evidence.compared} tickets, "
            f"below {min_agreement:.0%} (E={e_agree:.1f})"
        )
        return Verdict("roll back", reason, e_worse, e_not_worse, e_agree)
    if e_not_worse >= 1.0 / alpha:
        reason = (
            f"not worse by more than {margin:.0%}: {w} of {w + b} discordant pairs "
            f"(E={e_not_worse:.1f})"
        )
        return Verdict("promote", reason, e_worse, e_not_worse, e_agree)
    reason = f"not enough evidence yet: {w + b} discordant labelled pairs"
    return Verdict("hold", reason, e_worse, e_not_worse, e_agree)
