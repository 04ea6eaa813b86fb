from __future__ import annotations

import numpy as np
import pytest

from agent.classify.base import Neighbour
from agent.classify.knn import KnnParams, consensus, knn_probabilities
from agent.taxonomy import UNKNOWN, load_taxonomy
from monitor.signals import get_signal
from monitor.signals.base import WindowSample
from monitor.stats.samples import class_names


def test_share_of_disagreement_leaves_out_tickets_without_consensus() -> None:
    predicted = np.array([0, 1, 2, 3] * 25)
    consensus_ = np.array([0, 2, -1, 3] * 25)  # 25 disagree, 25 have no consensus
    window = WindowSample(
        predicted=predicted, knn_consensus=consensus_, is_unknown=np.zeros(100, bool)
    )
    result = get_signal("history_disagreement")(window, window)
    assert result.value == pytest.approx(25 / 75)
    assert result.details["with_consensus"] == 75
    assert result.n_current == 100


def test_no_consensus_at_all_is_insufficient() -> None:
    window = WindowSample(
        predicted=np.zeros(100, int),
        knn_consensus=np.full(100, -1),
        is_unknown=np.zeros(100, bool),
    )
    result = get_signal("history_disagreement")(window, window)
    assert result.insufficient


def knn_version_window(seed: int, n: int, far_share: float) -> WindowSample:
    """Decisions of a knn version as the agent makes them: its vote and the history consensus
    from the same neighbours; ``far_share`` of tickets have only distant neighbours."""
    taxonomy = load_taxonomy("banking77")
    classes = class_names(taxonomy.queue_names)
    params = KnnParams()
    rng = np.random.default_rng(seed)
    predicted, voted = [], []
    for _ in range(n):
        base = 0.8 if rng.random() < far_share else 0.2
        queues = rng.choice(taxonomy.queue_names[:5], size=params.k)
        distances = np.sort(base + rng.random(params.k) * 0.2)
        neighbours = [
            Neighbour(f"h{j}", "", str(q), "P3", float(d))
            for j, (q, d) in enumerate(zip(queues, distances, strict=True))
        ]
        probs, _ = knn_probabilities(neighbours, taxonomy, params)
        predicted.append(classes.index(max(probs, key=probs.__getitem__)))
        voted.append(classes.index(str(consensus(neighbours, params.tau)[0])))
    pred = np.array(predicted)
    return WindowSample(
        predicted=pred,
        knn_consensus=np.array(voted),
        is_unknown=pred == classes.index(UNKNOWN),
        n_classes=len(classes),
    )


def test_for_a_knn_version_it_no_longer_duplicates_unknown_rate() -> None:
    reference = knn_version_window(0, 400, far_share=0.05)
    current = knn_version_window(1, 200, far_share=0.3)  # more tickets far from history
    assert reference.is_unknown is not None and current.is_unknown is not None
    assert reference.predicted is not None and reference.knn_consensus is not None
    # The old definition (every ticket with a consensus) was the share of unknown predictions
    old = reference.predicted != reference.knn_consensus
    assert old.any() and np.array_equal(old, reference.is_unknown)
    unknown = get_signal("unknown_rate")(reference, current)
    assert unknown.value == pytest.approx(current.is_unknown.mean())
    assert unknown.p_value is not None and unknown.p_value < 1e-4
    # The new one leaves unknown predictions out: a knn version's routes are the vote itself
    new = get_signal("history_disagreement")(reference, current)
    assert new.value == 0.0 and new.p_value == 1.0
    assert new.details["with_consensus"] == int((~current.is_unknown).sum())


def test_routes_that_overrule_history_are_caught_apart_from_unknowns() -> None:
    n = 300
    rng = np.random.default_rng(5)
    vote = rng.integers(10, size=n)
    reference = WindowSample(predicted=vote, knn_consensus=vote, is_unknown=np.zeros(n, bool))
    overruled = np.where(np.arange(n) < 30, (vote + 1) % 10, vote)  # 10% routed elsewhere
    current = WindowSample(predicted=overruled, knn_consensus=vote, is_unknown=np.zeros(n, bool))
    result = get_signal("history_disagreement")(reference, current)
    assert result.value == pytest.approx(0.1)
    assert result.p_value is not None and result.p_value < 1e-8  # against 0 of 300
    assert get_signal("unknown_rate")(reference, current).p_value == 1.0


def test_confident_failure_on_new_content_is_detected(make_window) -> None:
    reference = make_window(0, 3000)
    same = get_signal("history_disagreement")(reference, make_window(1, 1000))
    assert same.p_value is not None and same.p_value > 0.01
    shifted = get_signal("history_disagreement")(reference, make_window(2, 1000, new_share=0.1))
    assert shifted.value > same.value
    assert shifted.p_value is not None and shifted.p_value < 1e-4
