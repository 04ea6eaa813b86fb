"""Benchmark: the late-label accuracy's estimate, interval and test on labels that are not a
random sample.

Each window's decisions are 20% flagged (60% right) and 80% confident (95% right; true
accuracy 0.88); half come through the web channel. Labels: every flagged decision is reviewed,
10% of the confident ones, and the helpdesk reports 30% of the web channel's tickets (about 39%
of the window labelled, half of the labels on flagged decisions). The reference is 2,000
decisions of the same process. Measured, for windows of 150 and 600: the weighted estimate's bias
(and the raw share of right labels'), the 95% interval's coverage of the true accuracy, the
test's realized false-alarm rate at 0.05 / 0.01 / 0.001, and its power at the monitor's
late-label alphas when the confident decisions' accuracy drops.

    python -m evals.bench.late_labels [--trials 4000] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.signals._stats import wilson_interval
from monitor.signals.label_accuracy import AccuracyEstimate, ipw_accuracy, shortfall_test

FLAGGED, FLAGGED_ACCURACY, CONFIDENT_ACCURACY = 0.2, 0.6, 0.95
ALPHAS = (0.05, 0.01, 0.001)
# the late-label alpha per horizon of `all` on hourly and on daily windows (docs/monitor.md)
HOURLY_ALPHA, DAILY_ALPHA = 0.1 / 6 / 720 / 3, 0.1 / 6 / 30 / 3

Draw = tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.int64], NDArray[np.int64]]


def true_accuracy(confident: float = CONFIDENT_ACCURACY) -> float:
    return FLAGGED * FLAGGED_ACCURACY + (1 - FLAGGED) * confident


def draw(rng: np.random.Generator, n: int, confident: float = CONFIDENT_ACCURACY) -> Draw:
    """(correct, labelled, stratum: mode and channel, parent: mode) of ``n`` decisions."""
    flagged = rng.random(n) < FLAGGED
    web = rng.random(n) < 0.5
    correct = np.where(flagged, rng.random(n) < FLAGGED_ACCURACY, rng.random(n) < confident)
    labelled = flagged | (rng.random(n) < 0.1) | (web & (rng.random(n) < 0.3))
    parent = flagged.astype(np.int64)
    return correct, labelled, parent * 2 + web, parent


def calm(rng: np.random.Generator, n: int, trials: int) -> dict[str, Any]:
    """Bias, coverage and realized false-alarm rates under no change."""
    truth = true_accuracy()
    bias, raw, covered = [], [], 0
    rejected = np.zeros(len(ALPHAS))
    for _ in range(trials):
        reference = ipw_accuracy(*draw(rng, 2000))
        correct, labelled, stratum, parent = draw(rng, n)
        current = ipw_accuracy(correct, labelled, stratum, parent)
        p = shortfall_test(reference, current)
        rejected += [p <= a for a in ALPHAS]
        low, high = wilson_interval(current.accuracy, current.n_effective)
        covered += low <= truth <= high
        bias.append(current.accuracy - truth)
        raw.append(float(correct[labelled].mean()) - truth)
    return {
        "window": n,
        "bias": round(float(np.mean(bias)), 4),
        "raw_share_bias": round(float(np.mean(raw)), 4),
        "ci95_coverage": round(covered / trials, 4),
        "false_alarm_rate": {
            str(a): round(float(r) / trials, 4) for a, r in zip(ALPHAS, rejected, strict=True)
        },
    }


def power(
    rng: np.random.Generator, n: int, confident: float, alpha: float, trials: int
) -> dict[str, Any]:
    """Share of windows whose accuracy drop the test finds at ``alpha``."""
    found = 0
    estimates: list[AccuracyEstimate] = []
    for _ in range(trials):
        current = ipw_accuracy(*draw(rng, n, confident))
        estimates.append(current)
        found += shortfall_test(ipw_accuracy(*draw(rng, 2000)), current) <= alpha
    return {
        "window": n,
        "alpha": alpha,
        "accuracy": round(true_accuracy(confident), 3),
        "labelled": round(float(np.mean([e.labelled for e in estimates])), 1),
        "effective_n": round(float(np.mean([e.n_effective for e in estimates])), 1),
        "power": round(found / trials, 4),
    }


def run(*, trials: int = 4000, seed: int = 3) -> dict[str, Any]:
    """All figures of the benchmark as one dict (see the module docstring)."""
    rng = np.random.default_rng(seed)
    cases = (
        (150, 0.70, HOURLY_ALPHA),
        (150, 0.60, HOURLY_ALPHA),
        (3600, 0.90, DAILY_ALPHA),
        (3600, 0.85, DAILY_ALPHA),
    )
    return {
        "true_accuracy": round(true_accuracy(), 3),
        "calm": [calm(rng, n, trials) for n in (150, 600)],
        "power": [power(rng, n, c, a, max(trials // 10, 50)) for n, c, a in cases],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(run(trials=args.trials, seed=args.seed), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
