"""Detection delay of the monitor's two layers on small persistent drifts, without the API.

The faster path beside a full replay: Banking77 embedded by the project's embedder (the cache
``evals.bench.abstention.load_banking77`` writes), four virtual-card intents held out as the
new content, 40% of the rest as history. Each ticket's class probabilities are the
distance-weighted vote of its 10 nearest history tickets (what the knn classifier does, without
its calibration). A 1,800-ticket reference (twelve windows of 150, as the replays) is
calibrated with the monitor's own code at the budget of segment ``all`` on 1-hour windows;
then each trial plays windows of 150 tickets, ``share`` of them (rounded at random) new
content, through the monitor's signals, thresholds, evidence and CUSUM, until the first alarm.
Signals that need reviews, outcomes or latencies are insufficient here, as in a replay
without reviews: the evidence is the embedding, novelty, label-mix and confidence groups.

The knn's novelty gate is simulated as ``versions create`` fits it (``--no-gate`` leaves it
out): up to 4,000 history tickets scored leave-one-out by their nearest-neighbour distance, a
ticket's conformal p-value against them, its ``unknown`` probability clip(1 - p / 2α, 0, 1) with
the vote scaled by the rest, so ``unknown_rate`` sees the tickets the gate sends to people.

    python -m evals.bench.sequential_power --embeddings b77.npz [--trials 20 10 5]
    python -m evals.bench.sequential_power --embeddings b77.npz --label-mix 5
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.signals import WindowSample, all_signals
from monitor.stats.budget import stream_budget
from monitor.stats.calibration import Calibration, apply_thresholds, calibrate
from monitor.stats.evidence import combine
from monitor.stats.sequential import CusumState, reference_allowance, step_tracks

NEW_INTENTS = (
    "getting_virtual_card",
    "get_disposable_virtual_card",
    "disposable_card_limits",
    "virtual_card_not_working",
)
WINDOW = 150
GROUPS = {"label_mix", "embedding", "novelty", "confidence", "disagreement"}


MIX = {"fraud_and_disputes": 2.0, "account_and_security": 2.0, "top_ups": 0.6, "card_orders": 0.6}


@dataclass(frozen=True)
class Gate:
    """The plain nearest-distance novelty gate, calibrated leave-one-out on the history."""

    scores: NDArray[np.float64]
    alpha: float = 0.05

    def unknown(self, d1: NDArray[np.float64]) -> NDArray[np.float64]:
        n = len(self.scores)
        at_least = n - np.searchsorted(self.scores, d1, side="left")
        p = (1 + at_least) / (n + 1)
        return np.clip(1 - p / (2 * self.alpha), 0.0, 1.0)


@dataclass(frozen=True)
class Pools:
    history: NDArray[np.float32]
    history_queue: NDArray[np.int64]
    known: NDArray[np.float32]
    known_queue: NDArray[np.int64]
    new: NDArray[np.float32]
    queues: tuple[str, ...]
    gate: Gate | None = None

    @property
    def n_classes(self) -> int:
        return len(self.queues)


def fit_gate(p: Pools, seed: int, n_calibration: int = 4000, alpha: float = 0.05) -> Gate:
    """Nearest distance of held-out history tickets to the rest (exact copies left out)."""
    rng = np.random.default_rng(seed + 3)
    held = rng.choice(len(p.history), size=min(n_calibration, len(p.history)), replace=False)
    d = 1.0 - p.history[held] @ p.history.T
    d[d <= 1e-6] = np.inf  # itself and exact copies, as versions create leaves them out
    return Gate(np.sort(d.min(axis=1).astype(np.float64)), alpha)


def pools(path: Path, seed: int = 0, *, gate: bool = True) -> Pools:
    z = np.load(path)
    x = np.vstack([z["train"], z["test"]]).astype(np.float32)
    intent = np.concatenate([z["train_intent"], z["test_intent"]])
    queues, queue = np.unique(
        np.concatenate([z["train_queue"], z["test_queue"]]), return_inverse=True
    )
    is_new = np.isin(intent, NEW_INTENTS)
    rest = np.random.default_rng(seed).permutation(np.flatnonzero(~is_new))
    cut = int(0.4 * len(rest))
    hist = rest[:cut]
    known = rest[cut:]
    names = tuple(str(q) for q in queues)
    p = Pools(x[hist], queue[hist], x[known], queue[known], x[is_new], names)
    return replace(p, gate=fit_gate(p, seed)) if gate else p


def sample(p: Pools, x: NDArray[np.float32], k: int = 10) -> WindowSample:
    """The monitor's arrays for tickets ``x``: kNN-vote probabilities over the history, with
    an ``unknown`` column from the gate when there is one."""
    sims = x @ p.history.T
    idx = np.argpartition(-sims, k, axis=1)[:, :k]
    weights = np.maximum(np.take_along_axis(sims, idx, 1), 0.0) + 1e-6
    probs = np.zeros((len(x), p.n_classes))
    np.add.at(probs, (np.arange(len(x))[:, None], p.history_queue[idx]), weights)
    probs /= probs.sum(axis=1, keepdims=True)
    gate = p.gate
    if gate is None:
        return WindowSample(
            queue_probs=probs,
            predicted=probs.argmax(axis=1),
            embeddings=x,
            confidence=probs.max(axis=1),
            n_classes=p.n_classes,
        )
    u = gate.unknown(1.0 - sims.max(axis=1).astype(np.float64))
    probs = np.hstack([probs * (1 - u)[:, None], u[:, None]])
    predicted = probs.argmax(axis=1)
    return WindowSample(
        queue_probs=probs,
        predicted=predicted,
        embeddings=x,
        is_unknown=predicted == p.n_classes,
        confidence=probs.max(axis=1),
        n_classes=p.n_classes + 1,
    )


def window(p: Pools, share: float, rng: np.random.Generator, taken: NDArray[np.bool_]) -> Any:
    k = int(rng.binomial(WINDOW, share)) if share > 0 else 0
    known = rng.choice(np.flatnonzero(~taken), size=WINDOW - k, replace=False)
    new = rng.choice(len(p.new), size=k, replace=False)
    return sample(p, np.vstack([p.known[known], p.new[new]]))


def mix_window(
    p: Pools, intensity: float, size: int, rng: np.random.Generator, taken: NDArray[np.bool_]
) -> WindowSample:
    """A window of ``size`` known tickets whose queues are reweighted by ``MIX`` x intensity."""
    factor = np.array([1.0 + (MIX.get(q, 1.0) - 1.0) * intensity for q in p.queues])
    free = np.flatnonzero(~taken)
    weights = factor[p.known_queue[free]]
    chosen = rng.choice(free, size=size, replace=False, p=weights / weights.sum())
    return sample(p, p.known[chosen])


def label_mix_delay(
    p: Pools, *, trials: int, days: int, size: int, replicates: int, seed: int
) -> dict[str, Any]:
    """A week-long label-mix drift on daily windows of ``size`` tickets (reference: 4 days)."""
    rng = np.random.default_rng(seed + 2)
    ref_idx = rng.choice(len(p.known), size=4 * size, replace=False)
    taken = np.zeros(len(p.known), dtype=bool)
    taken[ref_idx] = True
    reference = sample(p, p.known[ref_idx])
    budget = _budget(86400)
    calibration = calibrate(
        reference, n_current=size, alpha=budget.window_alpha, replicates=replicates, rng=seed
    )
    specs, found = all_signals(), []
    allowance = reference_allowance(size, reference.n, budget.reference_tail)
    for _ in range(trials):
        states: dict[str, CusumState] = {}
        hit = None
        for day in range(1, days + 1):
            current = mix_window(p, day / days, size, rng, taken)
            results = apply_thresholds([s(reference, current) for s in specs.values()], calibration)
            evidence = combine([r for r in results if specs[r.name].group in GROUPS], calibration)
            p_values = evidence.sequential_p_values()
            step_ = step_tracks(
                states, p_values, threshold=budget.sequential_threshold, allowance=allowance
            )
            states = step_.states
            if evidence.severity != "none" or step_.alarm:
                hit = (day, "window" if evidence.severity != "none" else "sequential")
                break
        found.append(hit)
    days_found = [h[0] for h in found if h is not None]
    return {
        "drift": f"label mix {MIX} ramped over {days} daily windows of {size}",
        "trials": trials,
        "window_alpha": budget.window_alpha,
        "sequential_threshold": budget.sequential_threshold,
        "caught": len(days_found),
        "delays": [h[0] if h else None for h in found],
        "layers": [h[1] if h else None for h in found],
        "median_delay": float(np.median(days_found)) if days_found else None,
    }


def _budget(window_size_s: int) -> Any:
    return stream_budget(
        segment="all",
        window_size_s=window_size_s,
        window_sizes=(900, 3600, 86400),
        kinds=("queue", "priority", "channel"),
        volume=1.0,
        period=timedelta(days=30),
        tracks=1 + len(GROUPS),
    )


def first_alarm(
    p: Pools,
    reference: WindowSample,
    calibration: Calibration,
    *,
    share: float,
    windows: int,
    threshold: float,
    allowance: float,
    rng: np.random.Generator,
    taken: NDArray[np.bool_],
) -> tuple[int | None, str | None, list[float]]:
    """(window of the first alarm, the layer that raised it, the windows' sum p-values)."""
    specs, ps = all_signals(), []
    states: dict[str, CusumState] = {}
    for w in range(1, windows + 1):
        current = window(p, share, rng, taken)
        results = apply_thresholds([s(reference, current) for s in specs.values()], calibration)
        evidence = combine([r for r in results if specs[r.name].group in GROUPS], calibration)
        s = step_tracks(
            states, evidence.sequential_p_values(), threshold=threshold, allowance=allowance
        )
        states = s.states
        ps.append(evidence.sum_tail_prob)
        if evidence.severity != "none":
            return w, "window", ps
        if s.alarm:
            return w, "sequential", ps
    return None, None, ps


def run(
    path: Path,
    *,
    gate: bool = True,
    shares: tuple[float, ...] = (0.05, 0.02, 0.0),
    windows: tuple[int, ...] = (12, 26, 60),
    trials: tuple[int, ...] = (20, 10, 5),
    replicates: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    p = pools(path, seed, gate=gate)
    rng = np.random.default_rng(seed + 1)
    ref_idx = rng.choice(len(p.known), size=12 * WINDOW, replace=False)
    taken = np.zeros(len(p.known), dtype=bool)
    taken[ref_idx] = True  # the reference's tickets never come back, as in a replay
    reference = sample(p, p.known[ref_idx])
    budget = _budget(3600)
    calibration = calibrate(
        reference, n_current=WINDOW, alpha=budget.window_alpha, replicates=replicates, rng=seed
    )
    rows = []
    for share, n_windows, n_trials in zip(shares, windows, trials, strict=True):
        found, layers, all_ps = [], [], []
        for _ in range(n_trials):
            w, layer, ps = first_alarm(
                p,
                reference,
                calibration,
                share=share,
                windows=n_windows,
                threshold=budget.sequential_threshold,
                allowance=reference_allowance(WINDOW, reference.n, budget.reference_tail),
                rng=rng,
                taken=taken,
            )
            found.append(w)
            layers.append(layer)
            all_ps.extend(ps)
        caught = [w for w in found if w is not None]
        rows.append(
            {
                "new_content_share": share,
                "windows": n_windows,
                "trials": n_trials,
                "caught": len(caught),
                "delays": found,
                "median_delay": float(np.median(caught)) if caught else None,
                "by_layer": {k: layers.count(k) for k in ("window", "sequential")},
                "median_window_p": float(np.median(all_ps)),
            }
        )
    return {
        "gate": gate,
        "gate_alpha": p.gate.alpha if p.gate else None,
        "window_tickets": WINDOW,
        "reference_tickets": 12 * WINDOW,
        "window_alpha": budget.window_alpha,
        "sequential_threshold": budget.sequential_threshold,
        "sequential_arl": budget.sequential_arl,
        "allowance": reference_allowance(WINDOW, reference.n, budget.reference_tail),
        "replicates": replicates,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embeddings", type=Path, required=True)
    parser.add_argument("--trials", type=int, nargs="+", default=(20, 10, 5))
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-mix", type=int, default=0, help="trials of the weekly drift")
    parser.add_argument("--shares", type=float, nargs="+", default=(0.05, 0.02, 0.0))
    parser.add_argument("--windows", type=int, nargs="+", default=(12, 26, 60))
    parser.add_argument(
        "--no-gate", dest="gate", action="store_false", help="leave the novelty gate out"
    )
    args = parser.parse_args(argv)
    if args.label_mix:
        result = label_mix_delay(
            pools(args.embeddings, args.seed, gate=args.gate),
            trials=args.label_mix,
            days=7,
            size=400,
            replicates=args.replicates,
            seed=args.seed,
        )
    else:
        result = run(
            args.embeddings,
            gate=args.gate,
            shares=tuple(args.shares),
            windows=tuple(args.windows),
            trials=tuple(args.trials),
            replicates=args.replicates,
            seed=args.seed,
        )
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
