"""The sequential-power harness runs end to end on a small synthetic embedding file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals.bench.sequential_power import NEW_INTENTS, label_mix_delay, pools, run

QUEUES = ["fraud_and_disputes", "top_ups", "card_orders", "transfers"]


def write_corpus(path: Path) -> Path:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(12, 16))
    intents = [f"intent_{i}" for i in range(8)] + list(NEW_INTENTS)
    labels = rng.integers(len(intents), size=6000)
    x = centres[labels] + 0.3 * rng.normal(size=(6000, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    intent = np.array([intents[i] for i in labels])
    queue = np.array([QUEUES[i % len(QUEUES)] for i in labels])
    np.savez(
        path,
        train=x[:5000].astype(np.float32),
        train_intent=intent[:5000],
        train_queue=queue[:5000],
        test=x[5000:].astype(np.float32),
        test_intent=intent[5000:],
        test_queue=queue[5000:],
    )
    return path


@pytest.mark.slow  # two calibrations of 100 replicates: about 30 s alone, minutes when loaded
def test_new_content_rows_and_the_label_mix_drift(tmp_path: Path) -> None:
    path = write_corpus(tmp_path / "corpus.npz")
    # a third of the tickets from new content: caught at once, by one layer or the other
    out = run(path, shares=(0.3,), windows=(3,), trials=(1,), replicates=100)
    (row,) = out["rows"]
    assert row["caught"] == 1 and row["delays"] == [1]
    assert out["sequential_threshold"] > 7.0 and out["window_alpha"] < 2e-4
    mix = label_mix_delay(pools(path), trials=1, days=2, size=100, replicates=100, seed=0)
    assert mix["trials"] == 1 and len(mix["delays"]) == 1


def test_the_simulated_gate_escalates_about_alpha_of_known_tickets_and_most_new_ones(
    tmp_path: Path,
) -> None:
    from evals.bench.sequential_power import sample

    p = pools(write_corpus(tmp_path / "corpus.npz"))
    assert p.gate is not None and pools(tmp_path / "corpus.npz", gate=False).gate is None
    known, new = sample(p, p.known), sample(p, p.new)
    assert known.is_unknown is not None and new.is_unknown is not None
    assert known.queue_probs is not None
    # conformal: about alpha of tickets like the history (seeded; 4 sd either side)
    assert 0.02 < known.is_unknown.mean() < 0.08
    assert new.is_unknown.mean() > 0.5  # the new intents are their own clusters
    assert known.n_classes == len(p.queues) + 1  # the unknown column
    assert np.allclose(known.queue_probs.sum(axis=1), 1.0)
