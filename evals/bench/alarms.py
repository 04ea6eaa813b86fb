"""Benchmark: false alerts of a whole deployment over calm months, against its one budget.

A deployment of ``all`` and 19 segments (10 queues, 4 priorities, 5 channels, with uneven
volumes), each at three window sizes (15 min, 1 h, 24 h), is simulated for ``months`` periods of
30 days with no drift at all. Each window's calibrated p-values are drawn uniform (what the
calibration makes them under no drift; docs/monitor.md measures how close the real ones come):
Fisher's sum and Tippett's maximum independently, as the evidence's two combinations. Each
stream is judged exactly as the monitor judges it, with the budget split of
:mod:`monitor.stats.budget`: a window alarms when either combination passes its threshold at
half the stream's window alpha (``evidence.combine``); the CUSUM of :mod:`monitor.stats.sequential`
runs on the sum's p-value and on each of the five evidence groups' (six tracks, each at six
times the stream's ARL) and holds the alert through its episode; alerts open and clear as
:func:`monitor.stats.hysteresis.step` does (open on a non-clean window, clear after
``clear_after`` clean ones). The late-label layer re-judges every window at each of ``HORIZONS``
horizons and opens an alert on the past window when its p-value is at most the stream's
``late_label_alpha`` (at most one per window): drawn as a binomial count per month, each
horizon's p-value uniform and independent (correlated horizons, as real accumulating labels
are, open fewer). A month of warm-up runs first, so the CUSUMs start from their
steady state rather than from 0, as in a deployment that has been running. The figure is the
realized number of alerts opened per deployment and period, with a 95% interval (exact
Poisson on the total), against the budget of 1.

With ``reference_tickets`` the windows also share their reference's sampling error, as a
deployment's do: every stream's windows are judged against one reference of N tickets while
traffic brings ``per_hour`` tickets an hour, so a window of w hours has n = per_hour * w
tickets and, in every segment alike, a share rho = n / (n + N) of its z score's variance is the
reference's offset, drawn once per stream, track and simulated deployment: z_t = sqrt(rho) C +
sqrt(1 - rho) e_t (Tippett's maximum stays uniform). The streams then run with the monitor's
allowance for it (:func:`monitor.stats.sequential.reference_allowance`) and, for comparison,
without it (``without_allowance``).

    python -m evals.bench.alarms [--months 400] [--seed 0] [--reference-tickets 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from monitor.stats.budget import StreamBudget, deployment_budget
from monitor.stats.sequential import REFERENCE_VALUE, reference_allowance, threshold_for_arl

PERIOD = timedelta(days=30)
WINDOW_SIZES = (900, 3600, 86400)
KINDS = ("queue", "priority", "channel")
TRACKS = 6  # the whole evidence and the five default evidence groups
HORIZONS = 3  # late-label re-judgements of each window (+1 h, +24 h, +7 d)


def volumes() -> dict[str, float]:
    """19 segments besides ``all``: queue volumes by Zipf, fixed priority and channel mixes."""
    zipf = 1.0 / np.arange(1, 11)
    queues = {f"queue:q{i}": float(v) for i, v in enumerate(zipf / zipf.sum())}
    priorities = {"priority:P1": 0.1, "priority:P2": 0.2, "priority:P3": 0.4, "priority:P4": 0.3}
    channels = {
        "channel:web": 0.4,
        "channel:email": 0.3,
        "channel:app": 0.15,
        "channel:chat": 0.1,
        "channel:phone": 0.05,
    }
    return {**queues, **priorities, **channels}


@dataclass(frozen=True)
class StreamAlarms:
    """Alerts opened in one stream over every simulated month, and what opened them."""

    budget: StreamBudget
    opened: NDArray[np.int64]  # per month
    by_window: int
    by_sequential: int


def simulate_stream(
    budget: StreamBudget,
    *,
    months: int,
    clear_after: int,
    rng: np.random.Generator,
    windows: int | None = None,
    tracks: int = TRACKS,
    rho: float = 0.0,
    allowance: float = 0.0,
) -> StreamAlarms:
    """One stream over ``months`` calm periods, every month a column (vectorised over months).

    Each window draws ``rng.random(months)`` twice (the sum's p-value, then the maximum's),
    then ``rng.random((tracks - 1, months))`` (the groups' p-values, drawn independent of the
    sum's: more alarms in their union than correlated ones would give, so it errs high). With
    ``rho`` > 0 each track's p-value carries a reference offset drawn first (see the module
    docstring); ``allowance`` is what each CUSUM step gives up for it."""
    windows = windows or round(PERIOD.total_seconds() / budget.window_size_s)
    offset = np.sqrt(rho) * rng.standard_normal((tracks, months)) if rho > 0 else None
    statistic = np.zeros((tracks, months))
    episode = np.zeros((tracks, months), dtype=bool)
    is_open = np.zeros(months, dtype=bool)
    clean = np.zeros(months, dtype=np.int64)
    opened = np.zeros(months, dtype=np.int64)
    by_window = by_sequential = 0
    half = budget.window_alpha / 2.0
    for t in range(2 * windows):
        if t == windows:  # the first month warms the CUSUMs up to their steady state
            opened[:] = 0
            by_window = by_sequential = 0
        p_sum, p_max = rng.random(months), rng.random(months)
        p = np.vstack([p_sum, rng.random((tracks - 1, months))])
        z = stats.norm.isf(np.maximum(p, 1e-12))
        if offset is not None:
            z = offset + np.sqrt(1.0 - rho) * z
            p_sum = stats.norm.sf(z[0])
        window_alarm = (p_sum <= half) | (p_max <= half)
        statistic = np.maximum(0.0, statistic + z - REFERENCE_VALUE - allowance)
        alarm = statistic >= budget.sequential_threshold
        statistic = np.where(alarm, 0.0, statistic)
        episode = alarm | (episode & (statistic > 0.0))
        dirty = window_alarm | episode.any(axis=0)
        opens = dirty & ~is_open
        opened += opens
        by_window += int(np.count_nonzero(opens & window_alarm))
        by_sequential += int(np.count_nonzero(opens & ~window_alarm))
        clean = np.where(is_open & ~dirty, clean + 1, 0)
        is_open = (is_open | opens) & ~(clean >= clear_after)
        clean = np.where(is_open, clean, 0)
    return StreamAlarms(budget, opened, by_window, by_sequential)


def late_label_alerts(
    budgets: list[StreamBudget], *, months: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Late-label alerts per stream (rows) and month (columns): each window's ``HORIZONS``
    re-judgements alarm independently at the stream's ``late_label_alpha``."""
    rows = []
    for b in budgets:
        trials = round(PERIOD.total_seconds() / b.window_size_s) * HORIZONS
        rows.append(rng.binomial(trials, b.late_label_alpha, size=months))
    return np.array(rows, dtype=np.int64)


def mixture_log_e(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """log of Vovk & Wang's mixture p-to-e calibrator, (e^x - 1 - x) / x^2 with x = -ln p."""
    x = -np.log(np.maximum(p, 1e-12))
    safe = np.maximum(x, 1e-4)
    exact = np.log((np.expm1(safe) - safe) / safe**2)
    return np.where(x < 1e-4, np.log(0.5 + x / 6.0), exact)


def run_lengths(
    increments: Any, threshold: float, *, runs: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Windows to the first alarm of ``runs`` CUSUMs max(0, S + increment(p)) >= threshold on
    uniform p-values (the in-control run length)."""
    statistic = np.zeros(runs)
    length = np.zeros(runs, dtype=np.int64)
    running = np.ones(runs, dtype=bool)
    t = 0
    while running.any():
        t += 1
        statistic = np.where(
            running, np.maximum(0.0, statistic + increments(rng.random(runs))), statistic
        )
        hit = running & (statistic >= threshold)
        length[hit] = t
        running &= ~hit
    return length


def e_detector_comparison(*, target: float, runs: int, seed: int) -> dict[str, float]:
    """Realized in-control ARL of the e-detector (mixture calibrator, threshold ln A) and of
    the CUSUM on normal scores (Siegmund's threshold), both aimed at ARL ``target``."""
    rng = np.random.default_rng(seed)
    e_cusum = run_lengths(mixture_log_e, float(np.log(target)), runs=runs, rng=rng)
    h = threshold_for_arl(target)
    z = run_lengths(
        lambda p: stats.norm.isf(np.maximum(p, 1e-12)) - REFERENCE_VALUE, h, runs=runs, rng=rng
    )
    return {
        "target_arl": target,
        "runs": runs,
        "e_detector_arl": round(float(e_cusum.mean()), 1),
        "e_detector_arl_se": round(float(e_cusum.std() / np.sqrt(runs)), 1),
        "z_cusum_arl": round(float(z.mean()), 1),
        "z_cusum_arl_se": round(float(z.std() / np.sqrt(runs)), 1),
    }


def poisson_interval(total: int, exposure: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson rate from ``total`` events over ``exposure``."""
    tail = (1.0 - level) / 2.0
    low = stats.chi2.ppf(tail, 2 * total) / 2.0 if total else 0.0
    high = stats.chi2.ppf(1.0 - tail, 2 * total + 2) / 2.0
    return float(low / exposure), float(high / exposure)


def shared_error(window_size_s: int, reference_tickets: int | None, per_hour: float) -> float:
    """rho = n / (n + N): the share of a window's z variance its reference's offset holds."""
    if not reference_tickets:
        return 0.0
    n = per_hour * window_size_s / 3600.0
    return n / (n + reference_tickets)


def _streams(
    budgets: list[StreamBudget],
    *,
    months: int,
    clear_after: int,
    seed: int,
    reference_tickets: int | None,
    per_hour: float,
    allow: bool,
) -> list[StreamAlarms]:
    rng = np.random.default_rng(seed)
    out = []
    for b in budgets:
        rho = shared_error(b.window_size_s, reference_tickets, per_hour)
        n = per_hour * b.window_size_s / 3600.0
        allowance = (
            reference_allowance(round(n), reference_tickets, b.reference_tail)
            if allow and reference_tickets
            else 0.0
        )
        out.append(
            simulate_stream(
                b, months=months, clear_after=clear_after, rng=rng, rho=rho, allowance=allowance
            )
        )
    return out


def run(
    *,
    months: int = 400,
    clear_after: int = 3,
    seed: int = 0,
    alternative_runs: int = 1000,
    reference_tickets: int | None = None,
    per_hour: float = 150.0,
) -> dict[str, Any]:
    """All figures of the benchmark as one dict (see the module docstring)."""
    budgets = deployment_budget(
        volumes=volumes(),
        window_sizes=WINDOW_SIZES,
        kinds=KINDS,
        period=PERIOD,
        tracks=TRACKS,
        horizons=HORIZONS,
    )
    common = {
        "months": months,
        "clear_after": clear_after,
        "seed": seed,
        "reference_tickets": reference_tickets,
        "per_hour": per_hour,
    }
    streams = _streams(budgets, allow=True, **common)  # type: ignore[arg-type]
    late = late_label_alerts(budgets, months=months, rng=np.random.default_rng(seed + 1))
    per_month = np.sum([s.opened for s in streams], axis=0) + late.sum(axis=0)
    total = int(per_month.sum())
    low, high = poisson_interval(total, months)
    by_size = {
        str(size): round(
            sum(
                int(s.opened.sum()) + int(n.sum())
                for s, n in zip(streams, late, strict=True)
                if s.budget.window_size_s == size
            )
            / months,
            4,
        )
        for size in WINDOW_SIZES
    }
    all_stream = (
        sum(
            int(s.opened.sum()) + int(n.sum())
            for s, n in zip(streams, late, strict=True)
            if s.budget.segment == "all"
        )
        / months
    )
    without = None
    if reference_tickets:
        bare = _streams(budgets, allow=False, **common)  # type: ignore[arg-type]
        bare_total = int(np.sum([s.opened for s in bare])) + int(late.sum())
        bare_low, bare_high = poisson_interval(bare_total, months)
        without = {
            "false_alerts_per_month": round(bare_total / months, 4),
            "interval_95": [round(bare_low, 4), round(bare_high, 4)],
            "opened_by_sequential_layer": round(sum(s.by_sequential for s in bare) / months, 4),
        }
    return {
        "reference": {
            "tickets": reference_tickets,
            "per_hour": per_hour,
            "rho": {
                str(size): round(shared_error(size, reference_tickets, per_hour), 4)
                for size in WINDOW_SIZES
            },
        }
        if reference_tickets
        else None,
        "without_allowance": without,
        "segments": 1 + len(volumes()),
        "window_sizes_s": list(WINDOW_SIZES),
        "streams": len(budgets),
        "period_days": PERIOD.days,
        "months": months,
        "budget_per_month": round(sum(b.share for b in budgets), 6),
        "false_alerts_per_month": round(total / months, 4),
        "interval_95": [round(low, 4), round(high, 4)],
        "months_with_no_false_alert": round(float(np.mean(per_month == 0)), 4),
        "opened_by_window_layer": round(sum(s.by_window for s in streams) / months, 4),
        "opened_by_sequential_layer": round(sum(s.by_sequential for s in streams) / months, 4),
        "opened_by_late_labels": round(float(late.sum()) / months, 4),
        "per_window_size": by_size,
        "segment_all": round(all_stream, 4),
        "consistent_with_budget": low <= 1.0,
        "sequential_alternatives": e_detector_comparison(
            target=100.0, runs=alternative_runs, seed=seed
        )
        if alternative_runs
        else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-tickets", type=int, default=None)
    parser.add_argument("--per-hour", type=float, default=150.0)
    args = parser.parse_args(argv)
    result = run(
        months=args.months,
        seed=args.seed,
        reference_tickets=args.reference_tickets,
        per_hour=args.per_hour,
    )
    print(json.dumps(result, indent=2))
    return 0 if result["consistent_with_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
