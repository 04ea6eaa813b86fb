"""``ticketwatch bench abstention`` on tiny generated data: its figures and its JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from agent.taxonomy import load_taxonomy
from evals.bench.abstention import Corpus, run
from evals.cli import register

TAX = load_taxonomy("banking77")


def corpus(seed: int = 0, intents: int = 12, train: int = 60, test: int = 20) -> Corpus:
    """Intents as tight clusters around random directions in 32 dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(intents, 32))
    queues = TAX.queue_names

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat(np.arange(intents), n)
        x = centres[labels] + rng.normal(scale=0.35, size=(len(labels), 32))
        return x / np.linalg.norm(x, axis=1, keepdims=True), labels

    xt, lt = draw(train)
    xs, ls = draw(test)
    name = np.asarray([f"intent_{i}" for i in range(intents)])
    queue = np.asarray([queues[i % len(queues)] for i in range(intents)])
    prio = np.asarray([TAX.priority_names[i % 4] for i in range(intents)])
    return Corpus(
        train=xt.astype(np.float32),
        train_intent=name[lt],
        train_queue=queue[lt],
        train_priority=prio[lt],
        test=xs.astype(np.float32),
        test_intent=name[ls],
        test_queue=queue[ls],
    )


def test_unseen_intents_far_from_history_are_caught_and_in_scope_escalation_stays_near_alpha():
    result = run(corpus(), TAX, seeds=3, held_out=3, alpha=0.1, n_calibration=400)
    assert result["alpha"] == 0.1 and result["seeds"] == 3 and len(result["per_seed"]) == 3
    # Seeded data: 180 in-scope tickets per seed, standard error ~0.02 around alpha.
    assert 0.02 <= result["in_scope_escalation_mean"] <= 0.2
    assert result["unseen_caught_mean"] >= 0.9
    assert result["plain_unseen_caught_mean"] >= 0.9
    assert 0 <= result["baseline_unseen_caught_mean"] <= 1
    for split in result["per_seed"]:
        assert len(split["unseen_intents"]) == 3 and split["unseen_tickets"] == 60
        assert split["auto_routed_accuracy"] is None or split["auto_routed_accuracy"] > 0.5


def test_the_gate_measured_is_the_one_versions_create_fits():
    # 540 history tickets: 300 calibrate, the other 240 fit the learned score (at least 200).
    result = run(corpus(), TAX, seeds=1, held_out=3, alpha=0.1, n_calibration=300)
    split = result["per_seed"][0]
    assert result["score"] == ["learned"] and split["score"] == "learned"
    assert set(split["by_score"]) == {"nearest", "nearest_disagreement", "learned"}
    assert split["unseen_caught"] == split["by_score"]["learned"]["unseen_caught"]
    assert split["plain_unseen_caught"] == split["by_score"]["nearest"]["unseen_caught"]
    assert result["by_score"]["learned"]["in_scope_escalation"] == split["in_scope_escalation"]


def test_without_history_to_fit_the_learned_score_the_versions_fallback_is_measured():
    # 140 tickets outside a 400-ticket calibration sample: too few to fit the learned score.
    result = run(corpus(), TAX, seeds=1, held_out=3, alpha=0.1, n_calibration=400)
    assert result["score"] == ["nearest_disagreement"]
    assert "learned" not in result["per_seed"][0]["by_score"]


def test_holding_out_every_intent_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot hold out 12 of 12 intents"):
        run(corpus(), TAX, seeds=1, held_out=12)


def test_the_command_prints_the_json_the_issue_names(tmp_path: Path):
    cache = tmp_path / "corpus.npz"
    c = corpus(1)
    np.savez(cache, **{name: getattr(c, name) for name in Corpus.__dataclass_fields__})
    app = typer.Typer()
    register(app)
    args = ["bench", "abstention", "--json", "--seeds", "2", "--held-out", "3"]
    result = CliRunner().invoke(app, [*args, "--splits", "2", "--embeddings", str(cache)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    for key in (
        "alpha",
        "in_scope_escalation_mean",
        "unseen_caught_mean",
        "baseline_unseen_caught_mean",
        "plain_unseen_caught_mean",
        "auto_routed_accuracy_mean",
        "per_seed",
        "target_accuracy_splits",
        "targets",
    ):
        assert key in data
    assert data["target_accuracy_splits"]["splits"] == 2
