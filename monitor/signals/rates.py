"""Routing-outcome rates: fallback model used, ``unknown`` predicted, sent to human triage."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.signals._stats import two_proportion_test, wilson_interval
from monitor.signals.base import SignalResult, WindowSample, register


def rate_result(
    name: str, ref_flags: NDArray[np.bool_], cur_flags: NDArray[np.bool_]
) -> SignalResult:
    """Current rate of a flag, with a one-sided two-proportion test against the reference."""
    n_ref, n_cur = len(ref_flags), len(cur_flags)
    k_ref, k_cur = int(ref_flags.sum()), int(cur_flags.sum())
    z, p_value = two_proportion_test(k_ref, n_ref, k_cur, n_cur)
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
            "reference_rate": k_ref / n_ref,
            "reference_count": k_ref,
            "difference": rate - k_ref / n_ref,
            "z": z,
            "ci95": [low, high],
        },
    )


@register("fallback_rate", requires=("is_fallback",), group="confidence", level=True)
def fallback_rate(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Share of decisions served by the fallback model."""
    assert reference.is_fallback is not None and current.is_fallback is not None
    return rate_result("fallback_rate", reference.is_fallback, current.is_fallback)


@register("unknown_rate", requires=("is_unknown",), group="confidence", level=True)
def unknown_rate(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Share of decisions whose predicted queue is ``unknown``."""
    assert reference.is_unknown is not None and current.is_unknown is not None
    return rate_result("unknown_rate", reference.is_unknown, current.is_unknown)


@register("human_triage_rate", requires=("is_human_triage",), group="confidence", level=True)
def human_triage_rate(
    reference: WindowSample, current: WindowSample, *, rng: np.random.Generator, **_: Any
) -> SignalResult:
    """Share of tickets routed to human triage (low confidence, unknown, errors, switches)."""
    assert reference.is_human_triage is not None and current.is_human_triage is not None
    return rate_result("human_triage_rate", reference.is_human_triage, current.is_human_triage)
