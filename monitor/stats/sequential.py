"""Evidence that accumulates: a CUSUM over the windows' calibrated p-values. Pure.

Each window of a stream (segment, window size) ends with a calibrated p-value of its evidence
(the tail probability of Fisher's sum under the composite null of :mod:`evidence`). Under no
drift that p-value is uniform, so its normal score ``z = Phi^-1(1 - p)`` is a standard normal
whatever the signals, the segment or the reference: the sequential statistic has a *known* null.
Page's CUSUM (Page 1954) on those scores,

    S_t = max(0, S_(t-1) + z_t - k),    alarm when S_t >= h,

adds up a drift too small for any one window: under a persistent shift of mu in z the statistic
grows by about mu - k a window and crosses h after about (h + 1.166) / (mu - k) windows
(Siegmund 1985), so a drift is caught in proportion to its size. Because the null is known, h
is set from the stream's false-alarm budget by Siegmund's approximation of the in-control
average run length (ARL): ARL0(h) = (exp(2 k b) - 2 k b - 1) / (2 k^2), b = h + 1.166.

Why not an e-detector (a CUSUM of e-values such as the mixture p-to-e calibrator; Shin,
Ramdas & Rinaldo 2023; Vovk & Wang 2021)? It guarantees ARL0 >= A with threshold ln A for any
super-uniform p-values, but on uniform ones its ARL0 is about 28 A (simulated: docs/monitor.md):
it spends a 28th of the budget, i.e. ln 28 = 3.3 more units of evidence before an alarm. The
calibrated p-values make the null pivotal, so the exact threshold can be used instead.

Tracks: besides the whole sum, each signal group's own Fisher sum is accumulated (new content
moves the novelty group strongly while the other groups stay quiet and would dilute it in the
whole sum). A stream with T tracks gives each the threshold of T times its ARL, so that by the
union bound the stream's false alarms come at most once per ARL windows on average.

The reference's own sampling error: every window of a stream is judged against the *same*
reference, so the windows share its error. The calibrated p-values are uniform averaged over
references, not given one: with n tickets a window and N in the reference, a window's z is
about ``c + e_t`` with a shared offset ``c ~ N(0, rho)``, ``rho = n / (n + N)``, and ``e_t`` of
variance ``1 - rho`` (for a difference of means exactly; the signals here behave alike). A
CUSUM accumulates that offset: a reference drawn ``c`` above its mean makes the calm drift
``c - k``, and past ``k`` the stream alarms however long its ARL says. So each step subtracts
an *allowance* ``kappa * sqrt(rho)`` besides k, with ``kappa = Phi^-1(1 - tail)``: whenever
the reference's offset is at most ``kappa`` of its standard deviations (probability at least
``1 - tail`` over the reference's draw), the steps' mean is at most ``-k`` and their variance
at most 1, so the ARL holds. The stream's budget (:mod:`budget`) spends ``tail`` of its
sequential share on the references that are worse. The allowance shrinks with the reference:
``sqrt(150 / 10,150) = 0.12`` for hourly windows of 150 against 10,000 tickets, 0.28 against
1,800, 0.51 for a day of 3,600 against 10,000 (a day's windows can hardly accumulate against a
reference not much larger than one of them).

Reset rule: after an alarm the statistic restarts from 0 (a renewal: false alarms come at most
once per ARL0 windows on average). The *episode* the alarm began lasts while S_t > 0, i.e. as
long as the evidence gathered since the alarm still points to drift; the stream's alert is held
open meanwhile, so a persistent small drift keeps one alert open instead of re-opening one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy import optimize, stats

SIEGMUND_CORRECTION = 1.166  # 2 * 0.583: the overshoot of a Gaussian random walk (Siegmund 1985)
REFERENCE_VALUE = 0.5  # k: tuned to a shift of one standard deviation of z per window
SMALLEST_P = 1e-12  # as the signals' tail probabilities; bounds one window's z at about 7


@dataclass(frozen=True, slots=True)
class CusumState:
    """Where a stream's CUSUM stands after a window: the statistic, and whether an episode
    (begun by an alarm, lasting while the statistic stays above 0) is running."""

    statistic: float = 0.0
    episode: bool = False


@dataclass(frozen=True, slots=True)
class CusumStep:
    """One window's step: the new state, its z score, and whether it alarmed."""

    state: CusumState
    z: float
    statistic: float  # before the reset an alarm makes
    alarm: bool
    threshold: float

    @property
    def holds_alert(self) -> bool:
        """Whether the sequential layer calls this window drifted: an alarm, or an episode
        whose evidence since the alarm is still positive."""
        return self.alarm or self.state.episode


@dataclass(frozen=True, slots=True)
class TracksStep:
    """One window's step of a stream's CUSUMs, one per track (the whole evidence, each group)."""

    steps: dict[str, CusumStep]

    @property
    def alarm(self) -> bool:
        return any(s.alarm for s in self.steps.values())

    @property
    def holds_alert(self) -> bool:
        return any(s.holds_alert for s in self.steps.values())

    @property
    def statistic(self) -> float:
        """The largest track's statistic (before any reset): what the dashboards plot."""
        return max((s.statistic for s in self.steps.values()), default=0.0)

    @property
    def states(self) -> dict[str, CusumState]:
        return {name: s.state for name, s in self.steps.items()}


def step_tracks(
    states: Mapping[str, CusumState],
    p_values: Mapping[str, float],
    *,
    threshold: float,
    allowance: float = 0.0,
) -> TracksStep:
    """Advance each track's CUSUM by its p-value (a track not seen before starts at 0)."""
    return TracksStep(
        {
            name: step(states.get(name, CusumState()), p, threshold=threshold, allowance=allowance)
            for name, p in p_values.items()
        }
    )


def reference_allowance(n: int, n_reference: int, tail: float) -> float:
    """What a window's step gives up for the reference's own sampling error: ``kappa *
    sqrt(n / (n + N))`` with ``kappa = Phi^-1(1 - tail)`` (0 when ``tail`` is 0 or 1 or more,
    or without tickets; see the module docstring)."""
    if n <= 0 or n_reference <= 0 or not 0.0 < tail < 1.0:
        return 0.0
    kappa = max(0.0, float(stats.norm.isf(tail)))
    return kappa * math.sqrt(n / (n + n_reference))


def normal_score(p_value: float) -> float:
    """z = Phi^-1(1 - p): standard normal for a uniform p-value, large for a small one."""
    p = min(max(p_value, SMALLEST_P), 1.0)
    return float(stats.norm.isf(p)) if p < 1.0 else -math.inf


def in_control_arl(threshold: float, *, k: float = REFERENCE_VALUE) -> float:
    """Siegmund's approximation of the ARL of a CUSUM of standard normals at ``threshold``."""
    two_kb = 2.0 * k * (threshold + SIEGMUND_CORRECTION)
    return (math.exp(two_kb) - two_kb - 1.0) / (2.0 * k * k)


def detection_delay(threshold: float, shift: float, *, k: float = REFERENCE_VALUE) -> float:
    """Siegmund's approximation of the mean windows to an alarm under a shift of ``shift``."""
    delta, b = shift - k, threshold + SIEGMUND_CORRECTION
    if abs(delta) < 1e-9:
        return b * b
    return (math.exp(-2.0 * delta * b) + 2.0 * delta * b - 1.0) / (2.0 * delta * delta)


def threshold_for_arl(arl: float, *, k: float = REFERENCE_VALUE) -> float:
    """The h whose in-control ARL is ``arl`` windows (at least 0)."""
    if arl <= in_control_arl(0.0, k=k):
        return 0.0
    return float(optimize.brentq(lambda h: in_control_arl(h, k=k) - arl, 0.0, 200.0))


def step(
    state: CusumState,
    p_value: float,
    *,
    threshold: float,
    k: float = REFERENCE_VALUE,
    allowance: float = 0.0,
) -> CusumStep:
    """Advance a stream's CUSUM by one window's p-value (reset to 0 after an alarm); each step
    gives up ``k`` and the reference's ``allowance`` (:func:`reference_allowance`)."""
    z = normal_score(p_value)
    statistic = max(0.0, state.statistic + max(z, -10.0) - k - allowance)
    if statistic >= threshold:
        return CusumStep(CusumState(0.0, True), z, statistic, True, threshold)
    episode = state.episode and statistic > 0.0
    return CusumStep(CusumState(statistic, episode), z, statistic, False, threshold)
