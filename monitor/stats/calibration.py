"""Thresholds from the reference period, not hand-set constants.

For a current-window size n, B bootstrap replicates are drawn from the reference: each splits
the reference into a pseudo-current window of n tickets and a disjoint pseudo-reference (the
rest), computes every signal, and so samples each signal's distribution under no drift. The
threshold is the (1 - alpha) quantile of that null (the alpha quantile where low is bad; both
alpha/2 tails for two-sided signals), extrapolated by a fitted tail when 1/alpha exceeds what
B replicates show (see :mod:`monitor.stats.null_distribution`). A *level* signal (a rate, a mean:
its value depends on the current window only) is calibrated on its difference from the
reference's own level, in each replicate and then for real, so the reference's sampling error
is part of the null instead of a bias. An *exact* signal (a rate tested by Fisher's exact
test) needs no bootstrap null: its p-value is valid as it stands, so it is its tail
probability and it drifts when p <= alpha; the replicates keep its p-values for the composite
null. (A bootstrap null of a rate the reference never saw is constant: the signal would be
blind.) The replicates stay aligned across
signals (row b of every signal comes from the same split), so :mod:`monitor.stats.evidence` can
calibrate a composite score on them without assuming the signals independent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.signals import SignalResult, SignalSpec, WindowSample, all_signals
from monitor.stats.null_distribution import SMALLEST_TAIL_PROB, NullDistribution

MIN_REPLICATES = 100  # below this even the 90% quantile rests on a handful of points
MIN_VALID_REPLICATES = 20  # a signal insufficient in more replicates stays uncalibrated


def window_alpha(
    window: timedelta, *, one_false_alarm_per: timedelta = timedelta(days=30)
) -> float:
    """Per-window false-alarm probability that gives one false alarm per period (per segment)."""
    return min(1.0, window / one_false_alarm_per)


@dataclass(frozen=True, slots=True)
class SignalCalibration:
    """One signal's null and thresholds; ``null`` is None when too few replicates had a value.

    The null is on ``value - offset`` (the offset is the reference's level for level signals,
    else 0); ``lower`` and ``upper`` are on the raw value. An exact signal has no null but
    ``exact_alpha``: its result's own p-value is its tail probability, a drift at <= alpha.
    """

    name: str
    null: NullDistribution | None
    offset: float
    lower: float | None
    upper: float | None
    exact_alpha: float | None = None

    @property
    def calibrated(self) -> bool:
        """Whether the signal can be judged (a null, or an exact p-value)."""
        return self.null is not None or self.exact_alpha is not None

    def result_tail_prob(self, result: SignalResult) -> float:
        """Tail probability of a result: its exact p-value, else its value under the null."""
        if self.exact_alpha is None:
            return self.tail_prob(result.value)
        if result.insufficient or result.p_value is None or not math.isfinite(result.p_value):
            return 1.0
        return max(result.p_value, SMALLEST_TAIL_PROB)

    def result_is_drift(self, result: SignalResult) -> bool:
        """Whether a result crosses the threshold (for an exact signal: p <= alpha)."""
        if self.exact_alpha is None:
            return self.is_drift(result.value)
        return not result.insufficient and self.result_tail_prob(result) <= self.exact_alpha

    def tail_prob(self, value: float) -> float:
        """Probability under the null of a value at least this bad (1 when uncalibrated)."""
        if self.null is None or not math.isfinite(value):
            return 1.0
        return float(self.null.tail_prob(value - self.offset)[()])

    def is_drift(self, value: float) -> bool:
        if self.null is None or not math.isfinite(value):
            return False
        return (self.upper is not None and value > self.upper) or (
            self.lower is not None and value < self.lower
        )


@dataclass(frozen=True, slots=True)
class Calibration:
    """Per-signal thresholds for windows of ``n_current`` tickets at false-alarm rate ``alpha``.

    ``null_values[name][b]`` is the statistic the null was fitted on in replicate b: the value,
    or its difference from the pseudo-reference's level for level signals (NaN: insufficient).
    """

    n_current: int
    alpha: float
    replicates: int
    signals: dict[str, SignalCalibration]
    null_values: dict[str, NDArray[np.float64]]

    def at_alpha(self, alpha: float) -> Calibration:
        """The same nulls thresholded at another false-alarm rate (no new replicates)."""
        signals = {
            name: replace(c, exact_alpha=alpha)
            if c.exact_alpha is not None
            else _thresholded(c.name, c.null, c.offset, alpha)
            for name, c in self.signals.items()
        }
        return replace(self, alpha=alpha, signals=signals)

    def summary(self) -> dict[str, Any]:
        """Thresholds and null summaries, ready to log or store."""
        return {
            name: {
                "lower": c.lower,
                "upper": c.upper,
                "offset": c.offset,
                "exact_alpha": c.exact_alpha,
                "null": None if c.null is None else c.null.summary(),
            }
            for name, c in self.signals.items()
        }


def bootstrap_split(
    n_reference: int, n_current: int, rng: np.random.Generator
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Disjoint (pseudo-reference, pseudo-current) indices into the reference.

    Without replacement while n_current fits in half the reference; beyond that the
    pseudo-current is drawn with replacement from one half and the other half is the
    pseudo-reference, so the two never share a ticket.
    """
    order = rng.permutation(n_reference)
    if 2 * n_current <= n_reference:
        return order[n_current:], order[:n_current]
    half = n_reference // 2
    return order[half:], rng.choice(order[:half], size=n_current, replace=True)


def null_values(
    reference: WindowSample,
    *,
    n_current: int,
    replicates: int,
    specs: Mapping[str, SignalSpec],
    params: Mapping[str, Mapping[str, Any]],
    rng: np.random.Generator,
) -> dict[str, NDArray[np.float64]]:
    """Each signal's statistic on ``replicates`` bootstrap splits of the reference: its value
    (less the pseudo-reference's level for a level signal), or an exact signal's p-value."""
    out = {name: np.full(replicates, np.nan) for name in specs}
    for b in range(replicates):
        ref_idx, cur_idx = bootstrap_split(reference.n, n_current, rng)
        pseudo_ref, pseudo_cur = reference.take(ref_idx), reference.take(cur_idx)
        seed = int(rng.integers(2**32))
        for name, spec in specs.items():
            kwargs = {**spec.value_only_params, **params.get(name, {})}
            result = spec(pseudo_ref, pseudo_cur, rng=seed, **kwargs)
            if spec.exact is not None:
                out[name][b] = np.nan if result.p_value is None else result.p_value
            else:
                out[name][b] = result.value - reference_level(spec, pseudo_ref, kwargs)
    return out


def reference_level(spec: SignalSpec, reference: WindowSample, params: Mapping[str, Any]) -> float:
    """The value a level signal takes on the reference itself; 0 for other signals."""
    if not spec.level or spec.exact is not None:
        return 0.0
    return spec(reference, reference, rng=0, **params).value


def calibrate(
    reference: WindowSample,
    *,
    n_current: int,
    alpha: float,
    replicates: int = 200,
    signals: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    rng: np.random.Generator | int | None = 0,
) -> Calibration:
    """Calibrate thresholds of ``signals`` (default: all) for windows of ``n_current`` tickets."""
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    if n_current < 1 or reference.n < 2:
        raise ValueError("need a reference of at least 2 tickets and n_current >= 1")
    registry = all_signals()
    names = list(registry) if signals is None else list(signals)
    specs = {name: registry[name] for name in names}
    replicates = max(replicates, MIN_REPLICATES)
    values = null_values(
        reference,
        n_current=n_current,
        replicates=replicates,
        specs=specs,
        params=params or {},
        rng=np.random.default_rng(rng),
    )
    calibrated = {}
    for name in names:
        kwargs = {**specs[name].value_only_params, **(params or {}).get(name, {})}
        offset = reference_level(specs[name], reference, kwargs)
        calibrated[name] = calibrate_signal(specs[name], values[name], alpha, offset)
    return Calibration(n_current, alpha, replicates, calibrated, values)


def calibrate_signal(
    spec: SignalSpec, values: NDArray[np.float64], alpha: float, offset: float = 0.0
) -> SignalCalibration:
    """Null distribution and raw-value thresholds of one signal from its replicate statistics."""
    finite = values[np.isfinite(values)]
    if len(finite) < MIN_VALID_REPLICATES or not math.isfinite(offset):
        return SignalCalibration(spec.name, None, offset, None, None)
    if spec.exact is not None:
        return SignalCalibration(spec.name, None, offset, None, None, exact_alpha=alpha)
    if np.ptp(finite) == 0.0:
        # A constant null (e.g. a rate of an event the reference never saw) has no spread to
        # set a threshold with: any departure would look infinitely unlikely. Uncalibrated.
        return SignalCalibration(spec.name, None, offset, None, None)
    return _thresholded(spec.name, NullDistribution.fit(values, spec.direction), offset, alpha)


def _thresholded(
    name: str, null: NullDistribution | None, offset: float, alpha: float
) -> SignalCalibration:
    if null is None:
        return SignalCalibration(name, None, offset, None, None)
    lower, upper = null.thresholds(alpha)
    return SignalCalibration(
        name,
        null,
        offset,
        None if lower is None else lower + offset,
        None if upper is None else upper + offset,
    )


def apply_thresholds(
    results: Iterable[SignalResult], calibration: Calibration
) -> list[SignalResult]:
    """Copies of ``results`` with ``threshold`` (upper bound, else lower) and ``drifted`` set.

    An exact signal's threshold is the value at which its p-value reaches alpha.
    """
    specs = all_signals()
    out = []
    for result in results:
        calib = calibration.signals.get(result.name)
        if calib is None or not calib.calibrated or result.insufficient:
            out.append(replace(result, drifted=False if calib else None))
            continue
        details = dict(result.details)
        if calib.lower is not None and calib.upper is not None:
            details["lower_threshold"] = calib.lower
        threshold = calib.upper if calib.upper is not None else calib.lower
        exact = specs[result.name].exact
        if calib.exact_alpha is not None and exact is not None:
            threshold = exact(result, calib.exact_alpha)
        out.append(
            replace(
                result,
                threshold=threshold,
                drifted=calib.result_is_drift(result),
                details=details,
            )
        )
    return out
