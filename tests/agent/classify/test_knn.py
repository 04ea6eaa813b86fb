"""The knn classifier's math: weighted votes, calibration, the unknown band, the fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent.classify.base import Neighbour
from agent.classify.knn import (
    KnnClassifier,
    KnnParams,
    calibrate,
    consensus,
    knn_probabilities,
    unknown_mass,
    vote_shares,
)
from agent.classify.knn_fit import HeldOut, fit_knn, unknown_band
from agent.taxonomy import UNKNOWN, load_taxonomy

TAX = load_taxonomy("banking77")


def nb(queue: str, distance: float, priority: str = "P3") -> Neighbour:
    return Neighbour(ticket_id="t", text="", queue=queue, priority=priority, distance=distance)


def test_vote_shares_weight_neighbours_by_distance():
    shares = vote_shares(["a", "b"], [0.1, 0.2], ["a", "b", "c"], tau=0.1)
    wa, wb = math.exp(-0.1 / 0.1), math.exp(-0.2 / 0.1)
    assert shares["a"] == pytest.approx(wa / (wa + wb))
    assert shares["b"] == pytest.approx(wb / (wa + wb))
    assert shares["c"] == 0.0


def test_calibrate_is_a_distribution_and_temperature_sharpens_or_flattens():
    shares = {"a": 0.7, "b": 0.3, "c": 0.0}
    sharp = calibrate(shares, alpha=0.01, temperature=0.5)
    flat = calibrate(shares, alpha=0.01, temperature=2.0)
    for probs in (sharp, flat):
        assert sum(probs.values()) == pytest.approx(1.0)
    assert sharp["a"] > calibrate(shares, alpha=0.01, temperature=1.0)["a"] > flat["a"]


def test_unknown_mass_is_zero_near_history_and_one_far_from_it():
    assert unknown_mass(0.3, 0.5, 0.7) == 0.0
    assert unknown_mass(0.6, 0.5, 0.7) == pytest.approx(0.5)
    assert unknown_mass(0.9, 0.5, 0.7) == 1.0
    assert unknown_mass(None, 0.5, 0.7) == 1.0


def test_far_neighbourhood_routes_probability_to_unknown():
    params = KnnParams(unknown_lo=0.4, unknown_hi=0.6)
    near = [nb("transfers", 0.2)] * 5
    far = [nb("transfers", 0.8)] * 5
    q_near, _ = knn_probabilities(near, TAX, params)
    q_far, _ = knn_probabilities(far, TAX, params)
    assert max(q_near, key=q_near.get) == "transfers" and q_near[UNKNOWN] == 0.0
    assert q_far[UNKNOWN] == 1.0
    assert sum(q_near.values()) == pytest.approx(1.0)


def test_consensus_names_the_weighted_majority():
    queue, share = consensus([nb("a", 0.1), nb("b", 0.5), nb("b", 0.5)], tau=0.05)
    assert queue == "a" and share > 0.5


async def test_classifier_returns_probabilities_over_taxonomy_plus_unknown():
    result = await KnnClassifier(KnnParams()).classify(
        text="x", neighbours=[nb("top_ups", 0.1, "P4"), nb("top_ups", 0.15, "P4")], taxonomy=TAX
    )
    assert set(result.queue_probs) == {*TAX.queue_names, UNKNOWN}
    assert set(result.priority_probs) == set(TAX.priority_names)
    assert result.queue == "top_ups" and result.priority == "P4"
    assert result.error is None and result.probability_source == "vote"


def _synthetic_cases(rng: np.random.Generator, n: int, noise: float) -> list[HeldOut]:
    """Held-out cases whose neighbours share the true queue with probability 1 - noise."""
    queues = TAX.queue_names
    cases = []
    for _ in range(n):
        truth = queues[rng.integers(len(queues))]
        neighbours = [
            nb(
                truth if rng.random() > noise else queues[rng.integers(len(queues))],
                float(rng.uniform(0.1, 0.5)),
            )
            for _ in range(15)
        ]
        cases.append(
            HeldOut(
                queue=truth, priority="P3", neighbours=sorted(neighbours, key=lambda x: x.distance)
            )
        )
    return cases


def test_fit_finds_a_temperature_that_beats_the_default_on_held_out_nll():
    rng = np.random.default_rng(3)
    cases = _synthetic_cases(rng, 400, noise=0.45)
    report = fit_knn(cases, queues=TAX.queue_names, priorities=TAX.priority_names)
    default = KnnParams()

    def nll(params: KnnParams) -> float:
        return -np.mean(
            [
                math.log(knn_probabilities(c.neighbours, TAX, params)[0][c.queue] + 1e-12)
                for c in cases
            ]
        )

    fitted = KnnParams(**{**report.params.to_params(), "unknown_lo": 9.0, "unknown_hi": 10.0})
    base = KnnParams(**{**default.to_params(), "unknown_lo": 9.0, "unknown_hi": 10.0})
    assert nll(fitted) < nll(base)
    assert 0.5 < report.accuracy_queue <= 1.0


def test_fit_refuses_too_little_history():
    with pytest.raises(ValueError, match="at least 50"):
        fit_knn([], queues=TAX.queue_names, priorities=TAX.priority_names)


def test_unknown_band_starts_beyond_the_99th_percentile():
    d = np.linspace(0.1, 0.5, 1000)
    lo, hi = unknown_band(d)
    assert lo == pytest.approx(np.quantile(d, 0.99)) and hi > lo
