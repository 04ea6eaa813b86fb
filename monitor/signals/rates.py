"""Routing-outcome rates: fallback model used, ``unknown`` predicted, sent to human triage.

Each rate is tested against the reference's with Fisher's one-sided exact test
(:func:`monitor.signals._stats.rate_excess_test`): its p-value is valid as it stands, so these
signals are registered ``exact`` and the calibration uses the p-value instead of a bootstrap
null of the rate, which would be constant (and the signal blind) when the reference never saw
the event.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.signals._stats import rate_alarm_count, rate_excess_test, wilson_interval
from monitor.signals.base import SignalResult, WindowSample, register


def rate_result(
    name: str, ref_flags: NDArray[np.bool_], cur_flags: NDArray[np.bool_]
) -> SignalResult:
    """Current rate of a flag, with a one-sided exact test that it exceeds the reference's."""
    n_ref, n_cur = len(ref_flags), len(cur_flags)
    k_ref, k_cur = int(ref_flags.sum()), int(cur_flags.sum())
    p_value = rate_excess_test(k_ref, n_ref, k_cur, n_cur)
    rate = k_cur / n_cur
    low, high = wilson_interval(rate, n_cur)
    return SignalResult(
        name=name,
        value=rate,
        p_value=p_value,
        n_reference=n_ref,
        n_current=n_cur,
        details={
            "rate": rate,
            "count": k_cur,
            "trials": n_cur,
            "reference_rate": k_ref / n_ref,
            "reference_count": k_ref,
            "reference_trials": n_ref,
            "difference": rate - k_ref / n_ref,
            "test": "fisher_exact_one_sided",
            "ci95": [low, high],
        },
    )


def alarm_rate(result: SignalResult, alpha: float) -> float | None:
    """The smallest rate of the result's window whose exact p-value is <= alpha (None: none)."""
    d = result.details
    n_cur = int(d["trials"])
    count = rate_alarm_count(int(d["reference_count"]), int(d["reference_trials"]), n_cur, alpha)
    return None if count is None else count / n_cur


@register("fallback_rate", requires=("is_fallback",), group="confidence", exact=alarm_rate)
def fallback_rate(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Share of decisions served by the fallback model."""
    assert reference.is_fallback is not None and current.is_fallback is not None
    return rate_result("fallback_rate", reference.is_fallback, current.is_fallback)


@register("unknown_rate", requires=("is_unknown",), group="confidence", exact=alarm_rate)
def unknown_rate(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Share of decisions whose predicted queue is ``unknown``."""
    assert reference.is_unknown is not None and current.is_unknown is not None
    return rate_result("unknown_rate", reference.is_unknown, current.is_unknown)


@register("human_triage_rate", requires=("is_human_triage",), group="confidence", exact=alarm_rate)
def human_triage_rate(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Share of tickets routed to human triage (low confidence, unknown, errors, switches)."""
    assert reference.is_human_triage is not None and current.is_human_triage is not None
    return rate_result("human_triage_rate", reference.is_human_triage, current.is_human_triage)
