"""The novelty gate: conformal p-values, scores, ties and duplicates, what it stores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent.classify.base import Neighbour
from agent.classify.novelty import (
    NoveltyGate,
    fit_gate,
    leave_one_out,
    missing_for_calibration,
    nonconformity,
    p_value,
    unknown_probability,
)

QUEUES = ["cards", "transfers"]


def near(*distances: float, routes: list[tuple[str, str]] | None = None) -> list[Neighbour]:
    routes = routes or [("cards", "P3")] * len(distances)
    return [
        Neighbour(f"t{i}", "", q, p, d)
        for i, (d, (q, p)) in enumerate(zip(distances, routes, strict=True))
    ]


def test_p_value_counts_calibration_scores_at_least_as_strange():
    cal = [0.1, 0.2, 0.3, 0.4]
    assert p_value(0.05, cal) == pytest.approx(5 / 5)
    assert p_value(0.3, cal) == pytest.approx(3 / 5)  # ties count as at least as strange
    assert p_value(0.35, cal) == pytest.approx(2 / 5)
    assert p_value(9.0, cal) == pytest.approx(1 / 5)
    assert p_value(math.inf, []) == 1.0


def test_p_values_of_exchangeable_scores_reject_at_most_alpha_of_the_time():
    # Seeded: 20,000 fresh scores against 1,000 calibration scores from the same law; the
    # realized rate's standard error is ~0.002, the margin 0.01 (five of them).
    rng = np.random.default_rng(0)
    cal = np.sort(rng.gamma(2.0, 0.1, 1000))
    fresh = rng.gamma(2.0, 0.1, 20000)
    rate = np.mean([p_value(s, cal) < 0.05 for s in fresh])
    assert abs(rate - 0.05) < 0.01


def test_unknown_probability_is_above_half_exactly_when_p_is_below_alpha():
    assert unknown_probability(0.049, 0.05) > 0.5
    assert unknown_probability(0.05, 0.05) == pytest.approx(0.5)
    assert unknown_probability(0.06, 0.05) < 0.5
    assert unknown_probability(0.1, 0.05) == 0.0
    assert unknown_probability(0.0, 0.05) == 1.0


def test_split_votes_make_a_ticket_stranger_than_agreeing_ones_at_the_same_distance():
    agree = near(0.3, 0.31, 0.32)
    split = near(0.3, 0.31, 0.32, routes=[("cards", "P3"), ("transfers", "P2"), ("cards", "P1")])
    plain = [nonconformity(n, score="nearest", k=15) for n in (agree, split)]
    mixed = [nonconformity(n, score="nearest_disagreement", k=15) for n in (agree, split)]
    assert plain[0] == plain[1] == pytest.approx(0.3)
    assert mixed[0] == pytest.approx(0.3) and mixed[1] > 0.4


def test_an_unknown_score_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown novelty score 'mahalanobis'"):
        nonconformity(near(0.1), score="mahalanobis", k=15)


def gate_from(scores: list[float], alpha: float = 0.05) -> NoveltyGate:
    return NoveltyGate(score="nearest", alpha=alpha, calibration=tuple(sorted(scores)))


def test_a_ticket_far_beyond_the_calibration_is_novel_with_its_p_value_in_the_reason():
    gate = gate_from([0.1 + i / 1000 for i in range(100)])
    verdict = gate.judge(near(0.9))
    assert verdict.novel and verdict.p_value == pytest.approx(1 / 101)
    assert "p-value 0.0099" in (verdict.reason or "")
    assert not gate.judge(near(0.15)).novel


def test_no_history_makes_every_ticket_novel_and_says_so():
    verdict = NoveltyGate().judge([])
    assert verdict.novel and verdict.p_value == 0.0
    assert "no history" in (verdict.reason or "")


def test_a_gate_round_trips_through_the_version_thresholds():
    gate = NoveltyGate(k=7, tau=0.02, alpha=0.1, calibration=(0.3, 0.1, 0.2), calibrated=True)
    stored = NoveltyGate.from_thresholds(gate.to_thresholds())
    assert stored is not None
    assert stored.calibration == (0.1, 0.2, 0.3)  # kept sorted for the p-value
    assert (stored.k, stored.tau, stored.alpha, stored.n, stored.calibrated) == (
        7,
        0.02,
        0.1,
        3,
        True,
    )
    assert NoveltyGate.from_thresholds(None) is None


def test_exact_copies_of_history_do_not_make_fresh_tickets_look_novel():
    # History loaded twice: each held-out ticket's nearest neighbour is its own copy at
    # distance 0. Left in, the calibration would be all zeros and every fresh ticket novel.
    rng = np.random.default_rng(1)
    held = []
    for _ in range(200):
        d = np.sort(rng.uniform(0.2, 0.4, 15))
        held.append(("cards", near(0.0, *d[:14])))
    gate = fit_gate(held, taxonomy_queues=["cards"], score="nearest", k=15)
    assert min(gate.calibration) >= 0.2
    typical = float(np.median(gate.calibration))
    assert not gate.judge(near(typical)).novel
    naive = gate_from([0.0] * 200)  # what the copies alone would have calibrated
    assert naive.judge(near(typical)).novel
    # A fresh ticket that is itself a copy of history is as familiar as can be.
    assert gate.judge(near(0.0, 0.3)).p_value == 1.0
    assert leave_one_out(near(0.0, 1e-9, 0.2)) == near(0.0, 1e-9, 0.2)[2:]


def test_too_little_held_out_history_is_named():
    assert missing_for_calibration(["cards"] * 10, QUEUES) == ["50 held-out tickets (have 10)"]
    thin = missing_for_calibration(["cards"] * 60 + ["transfers"] * 3, QUEUES)
    assert thin == ["5 held-out tickets in each queue: transfers (3)"]
    assert missing_for_calibration(["cards"] * 60 + ["transfers"] * 5, QUEUES) == []


def test_an_uncalibrated_gate_is_marked_and_lists_what_is_missing():
    gate = fit_gate([("cards", near(0.2))] * 10, taxonomy_queues=QUEUES)
    assert not gate.calibrated
    assert gate.missing == ("50 held-out tickets (have 10)",)
    with pytest.raises(ValueError, match="alpha"):
        fit_gate([], taxonomy_queues=QUEUES, alpha=1.5)
