"""``ticketwatch bench abstention``: do tickets unlike the history reach a person?

Banking77 with ``held_out`` intents kept out of history (drawn by seed): history is the train
split of the other intents; a seeded sample of it is held out leave-one-out, exactly as
``versions create`` does, to fit the knn vote, the novelty gate and the confidence threshold;
the test split is routed against the rest. Compared on the same split:

- ``fixed``: today's rule, the knn's unknown ramp and ``min_confidence`` 0.5;
- ``plain``: split-conformal on the nearest-neighbour distance alone;
- ``gate``: the version's novelty gate, with the score ``versions create`` fits (the learned
  score where history allows, see ``agent.services.calibration``); every other score's figures
  are under ``by_score``.

Embeddings are computed once per run (or read from ``--embeddings``); the kNN is exact, in
NumPy, where the served path uses pgvector's HNSW index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.classify.abstention import History, knn_held_out_routes, learned_score_for
from agent.classify.base import Neighbour
from agent.classify.knn import KnnParams, knn_probabilities
from agent.classify.knn_fit import HeldOut, fit_knn
from agent.classify.novelty import (
    DEFAULT_SCORE,
    LEARNED,
    NoveltyGate,
    fit_gate,
    leave_one_out,
)
from agent.classify.selective import fit_target_accuracy
from agent.services.calibration import CALIBRATION_TICKETS, FIT_TICKETS, VERSION_SCORE
from agent.taxonomy import UNKNOWN, Taxonomy

FIXED_MIN_CONFIDENCE = 0.5
SPARE = 10


@dataclass(frozen=True)
class Corpus:
    """Unit-norm embeddings with their labels: history (train) and tickets to route (test)."""

    train: np.ndarray
    train_intent: np.ndarray
    train_queue: np.ndarray
    train_priority: np.ndarray
    test: np.ndarray
    test_intent: np.ndarray
    test_queue: np.ndarray


def nearest(
    queries: np.ndarray, history: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine distances of each query's k nearest history rows (exact)."""
    idx_out, dist_out = [], []
    for start in range(0, len(queries), 512):
        sims = queries[start : start + 512] @ history.T
        if exclude is not None:
            sims[np.arange(sims.shape[0]), exclude[start : start + 512]] = -np.inf
        idx = np.argpartition(-sims, k, axis=1)[:, :k]
        part = np.take_along_axis(sims, idx, 1)
        order = np.argsort(-part, axis=1)
        idx_out.append(np.take_along_axis(idx, order, 1))
        dist_out.append(1.0 - np.take_along_axis(part, order, 1))
    return np.vstack(idx_out), np.vstack(dist_out)


def _neighbours(
    idx: np.ndarray, dist: np.ndarray, queues: np.ndarray, priorities: np.ndarray
) -> list[list[Neighbour]]:
    return [
        [
            Neighbour(str(j), "", str(queues[j]), str(priorities[j]), float(max(d, 0.0)))
            for j, d in zip(row_i, row_d, strict=True)
        ]
        for row_i, row_d in zip(idx, dist, strict=True)
    ]


def _routes(
    neighbours: Sequence[Sequence[Neighbour]],
    taxonomy: Taxonomy,
    params: KnnParams,
    unknown: Callable[[Sequence[Neighbour]], float | None],
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted queue and confidence of each ticket."""
    queues, confidences = [], []
    for near in neighbours:
        probs, _ = knn_probabilities(near, taxonomy, params, unknown(near))
        q = max(probs, key=probs.__getitem__)
        queues.append(q)
        confidences.append(probs[q])
    return np.asarray(queues), np.asarray(confidences)


def _novel(gate: NoveltyGate, neighbours: Sequence[Sequence[Neighbour]]) -> np.ndarray:
    return np.asarray([gate.judge(n).novel for n in neighbours])


@dataclass(frozen=True)
class Fitted:
    """What ``versions create`` fits on one history: the held-out cases, the knn vote and a
    novelty gate per score (the version's own, ``VERSION_SCORE``, under ``version_score``)."""

    cases: list[HeldOut]
    params: KnnParams
    gates: dict[str, NoveltyGate]
    version_score: str

    @property
    def gate(self) -> NoveltyGate:
        return self.gates[self.version_score]


def fit_history(
    history: np.ndarray,
    queues: np.ndarray,
    priorities: np.ndarray,
    taxonomy: Taxonomy,
    *,
    rng: np.random.Generator,
    k: int,
    alpha: float,
    n_calibration: int,
) -> Fitted:
    """Fit on ``history`` as a version is fitted: a seeded calibration sample held out
    leave-one-out, the learned score fitted on other history tickets (``FIT_TICKETS``)."""
    order = rng.permutation(len(history))
    cal = order[: min(n_calibration, len(history))]
    ci, cd = nearest(history[cal], history, k + SPARE, exclude=cal)
    cases = [
        HeldOut(str(queues[j]), str(priorities[j]), leave_one_out(n)[:k])
        for j, n in zip(cal, _neighbours(ci, cd, queues, priorities), strict=True)
    ]
    names = taxonomy.queue_names
    params = fit_knn(cases, queues=names, priorities=taxonomy.priority_names, k=k).params
    held = [(c.queue, c.neighbours) for c in cases]
    fit_rows = order[len(cal) : len(cal) + FIT_TICKETS]
    model, _ = learned_score_for(
        History(history, queues, priorities), fit_rows, k=k, tau=params.tau
    )
    gates = {
        score: fit_gate(held, taxonomy_queues=names, score=score, k=k, tau=params.tau, alpha=alpha)
        for score in ("nearest", DEFAULT_SCORE)
    }
    version_score = VERSION_SCORE if model is not None else DEFAULT_SCORE
    if model is not None:
        gates[LEARNED] = fit_gate(
            held,
            taxonomy_queues=names,
            score=LEARNED,
            k=k,
            tau=params.tau,
            alpha=alpha,
            model=model,
        )
    return Fitted(cases, params, gates, version_score)


def run_split(
    corpus: Corpus,
    taxonomy: Taxonomy,
    *,
    seed: int,
    held_out: int,
    alpha: float,
    k: int = 15,
    n_calibration: int = CALIBRATION_TICKETS,
    target_accuracy: float = 0.95,
) -> dict[str, Any]:
    """Every rule's figures on one seed's split of intents."""
    rng = np.random.default_rng(seed)
    intents = np.unique(corpus.train_intent)
    unseen_intents = rng.choice(intents, size=held_out, replace=False)
    seen = ~np.isin(corpus.train_intent, unseen_intents)
    hist, hq, hp = corpus.train[seen], corpus.train_queue[seen], corpus.train_priority[seen]
    fitted = fit_history(
        hist, hq, hp, taxonomy, rng=rng, k=k, alpha=alpha, n_calibration=n_calibration
    )
    params, gate = fitted.params, fitted.gate
    ti, td = nearest(corpus.test, hist, k)
    tests = _neighbours(ti, td, hq, hp)
    unseen = np.isin(corpus.test_intent, unseen_intents)
    truth = corpus.test_queue
    novel = {score: _novel(g, tests) for score, g in fitted.gates.items()}
    fixed_q, fixed_c = _routes(tests, taxonomy, params, lambda n: None)
    fixed_human = (fixed_q == UNKNOWN) | (fixed_c < FIXED_MIN_CONFIDENCE)
    gate_novel = novel[fitted.version_score]
    gate_q, gate_c = _routes(tests, taxonomy, params, lambda n: gate.judge(n).unknown)
    fit = _threshold_fit(fitted.cases, taxonomy, params, gate, target_accuracy)
    auto = ~gate_novel & (gate_q != UNKNOWN) & (gate_c >= fit.min_confidence)
    return {
        "seed": seed,
        "unseen_intents": sorted(str(i) for i in unseen_intents),
        "history": int(seen.sum()),
        "calibration": len(fitted.cases),
        "score": fitted.version_score,
        "in_scope_tickets": int((~unseen).sum()),
        "unseen_tickets": int(unseen.sum()),
        "in_scope_escalation": _rate(gate_novel[~unseen]),
        "unseen_caught": _rate(gate_novel[unseen]),
        "plain_in_scope_escalation": _rate(novel["nearest"][~unseen]),
        "plain_unseen_caught": _rate(novel["nearest"][unseen]),
        "by_score": {
            score: {"in_scope_escalation": _rate(m[~unseen]), "unseen_caught": _rate(m[unseen])}
            for score, m in novel.items()
        },
        "baseline_in_scope_escalation": _rate(fixed_human[~unseen]),
        "baseline_unseen_caught": _rate(fixed_human[unseen]),
        "min_confidence": fit.min_confidence,
        "coverage": _rate(auto),
        "auto_routed_accuracy": _rate(gate_q[auto] == truth[auto]) if auto.any() else None,
        "baseline_auto_routed_accuracy": _rate(fixed_q[~fixed_human] == truth[~fixed_human]),
    }


def _threshold_fit(
    cases: Sequence[HeldOut],
    taxonomy: Taxonomy,
    params: KnnParams,
    gate: NoveltyGate,
    target: float,
) -> Any:
    routes = knn_held_out_routes(cases, taxonomy, params=params, gate=gate)
    return fit_target_accuracy(
        confidence=[r.confidence for r in routes],
        correct=[r.correct for r in routes],
        escalated=[r.escalated for r in routes],
        target=target,
    )


def _rate(mask: np.ndarray) -> float:
    return round(float(np.mean(mask)), 4) if mask.size else 0.0


def summarise(splits: list[dict[str, Any]], *, alpha: float, target: float) -> dict[str, Any]:
    """The JSON the command prints: means over seeds, then every seed's figures."""

    def mean(key: str) -> float | None:
        values = [s[key] for s in splits if s[key] is not None]
        return round(float(np.mean(values)), 4) if values else None

    gate_esc = [s["in_scope_escalation"] for s in splits]
    scores = sorted({name for s in splits for name in s["by_score"]})
    return {
        "alpha": alpha,
        "score": sorted({s["score"] for s in splits}),
        "by_score": {
            name: {
                figure: round(float(np.mean([s["by_score"][name][figure] for s in splits])), 4)
                for figure in ("in_scope_escalation", "unseen_caught")
            }
            for name in scores
            if all(name in s["by_score"] for s in splits)
        },
        "seeds": len(splits),
        "held_out_intents": len(splits[0]["unseen_intents"]) if splits else 0,
        "in_scope_escalation_mean": mean("in_scope_escalation"),
        "in_scope_escalation_max_deviation": round(max(abs(e - alpha) for e in gate_esc), 4),
        "unseen_caught_mean": mean("unseen_caught"),
        "plain_in_scope_escalation_mean": mean("plain_in_scope_escalation"),
        "plain_unseen_caught_mean": mean("plain_unseen_caught"),
        "baseline_in_scope_escalation_mean": mean("baseline_in_scope_escalation"),
        "baseline_unseen_caught_mean": mean("baseline_unseen_caught"),
        "every_seed_above_plain": all(
            s["unseen_caught"] > s["plain_unseen_caught"] for s in splits
        ),
        "target_accuracy": target,
        "auto_routed_accuracy_mean": mean("auto_routed_accuracy"),
        "coverage_mean": mean("coverage"),
        "baseline_auto_routed_accuracy_mean": mean("baseline_auto_routed_accuracy"),
        "per_seed": splits,
    }


def run(
    corpus: Corpus,
    taxonomy: Taxonomy,
    *,
    seeds: int = 5,
    held_out: int = 10,
    alpha: float = 0.05,
    target_accuracy: float = 0.95,
    n_calibration: int = CALIBRATION_TICKETS,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Every seed's split, summarised."""
    intents = np.unique(corpus.train_intent)
    if held_out >= len(intents):
        raise ValueError(f"cannot hold out {held_out} of {len(intents)} intents")
    splits = []
    for seed in range(seeds):
        splits.append(
            run_split(
                corpus,
                taxonomy,
                seed=seed,
                held_out=held_out,
                alpha=alpha,
                target_accuracy=target_accuracy,
                n_calibration=n_calibration,
            )
        )
        if progress:
            progress(1)
    return summarise(splits, alpha=alpha, target=target_accuracy)


def calibration_splits(
    corpus: Corpus,
    taxonomy: Taxonomy,
    *,
    splits: int = 20,
    alpha: float = 0.05,
    target_accuracy: float = 0.95,
    n_calibration: int = CALIBRATION_TICKETS,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The threshold fitted on ``splits`` random calibration samples of the whole history:
    how often the in-scope test tickets it auto-routes fall below the target accuracy."""
    k = 15
    queues, prios = corpus.train_queue, corpus.train_priority
    ti, td = nearest(corpus.test, corpus.train, k)
    tests = _neighbours(ti, td, queues, prios)
    accuracies = []
    for r in range(splits):
        fitted = fit_history(
            corpus.train,
            queues,
            prios,
            taxonomy,
            rng=np.random.default_rng(1000 + r),
            k=k,
            alpha=alpha,
            n_calibration=n_calibration,
        )
        params, gate = fitted.params, fitted.gate
        fit = _threshold_fit(fitted.cases, taxonomy, params, gate, target_accuracy)
        q, c = _routes(tests, taxonomy, params, lambda n, g=gate: g.judge(n).unknown)  # type: ignore[misc]
        auto = ~_novel(gate, tests) & (q != UNKNOWN) & (c >= fit.min_confidence)
        accuracies.append(float(np.mean(q[auto] == corpus.test_queue[auto])) if auto.any() else 1.0)
        if progress:
            progress(1)
    below = sum(a < target_accuracy for a in accuracies)
    return {
        "splits": splits,
        "target_accuracy": target_accuracy,
        "below_target": below,
        "below_target_share": round(below / splits, 4),
        "auto_routed_accuracy_min": round(min(accuracies), 4),
        "auto_routed_accuracy_mean": round(float(np.mean(accuracies)), 4),
    }


def load_banking77(settings: Any, cache: Any | None = None) -> Corpus:
    """Banking77 embedded once (or read from ``cache``, an .npz this function wrote)."""
    from pathlib import Path

    from agent.datasets.banking77 import labelled_records
    from agent.embed.local import LocalMiniLMEmbedder
    from agent.taxonomy import load_taxonomy

    if cache is not None and Path(cache).is_file():
        z = np.load(cache)
        return Corpus(*(z[name] for name in Corpus.__dataclass_fields__))
    taxonomy = load_taxonomy("banking77")
    train, test = labelled_records("train", taxonomy), labelled_records("test", taxonomy)
    embedder = LocalMiniLMEmbedder(
        models_dir=settings.data_dir / "models", threads=settings.embedding_threads
    )
    texts = [r.text for r in train] + [r.text for r in test]
    vectors = np.vstack([embedder.embed(texts[i : i + 256]) for i in range(0, len(texts), 256)])
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    corpus = Corpus(
        train=vectors[: len(train)].astype(np.float32),
        train_intent=np.asarray([r.intent for r in train]),
        train_queue=np.asarray([r.queue for r in train]),
        train_priority=np.asarray([r.priority for r in train]),
        test=vectors[len(train) :].astype(np.float32),
        test_intent=np.asarray([r.intent for r in test]),
        test_queue=np.asarray([r.queue for r in test]),
    )
    if cache is not None:
        np.savez(cache, **{name: getattr(corpus, name) for name in Corpus.__dataclass_fields__})
    return corpus


def targets(result: dict[str, Any]) -> dict[str, bool]:
    """The issue's targets, each met or not."""
    alpha = result["alpha"]
    out = {
        "in_scope_escalation_mean_within_1pt": abs(result["in_scope_escalation_mean"] - alpha)
        <= 0.01,
        "every_seed_within_2.5pt": result["in_scope_escalation_max_deviation"] <= 0.025,
        "unseen_caught_mean_at_least_60pct": result["unseen_caught_mean"] >= 0.60,
        "every_seed_above_plain": result["every_seed_above_plain"],
    }
    splits = result.get("target_accuracy_splits")
    if splits:
        out["accuracy_below_target_at_most_5pct_of_splits"] = splits["below_target_share"] <= 0.05
    return out
