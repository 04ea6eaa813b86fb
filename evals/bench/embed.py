"""Throughput of the local ONNX embedder, against sentence-transformers when it is importable.

    python -m evals.bench.embed --n 256 --batch 32

Texts are Banking77's test queries when the dataset is present (never fetched here), else
generated ticket-like texts. Timed rounds alternate between the two implementations and the
best round counts, so a busy machine slows both alike. Prints JSON; exits 1 when the two
disagree by more than 1e-4 or the cached model file was not reused.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

from agent.config import Settings, get_settings
from agent.datasets.banking77 import banking77_dir, is_present, read_split
from agent.embed import EmbeddingBatcher
from agent.embed.local import LocalMiniLMEmbedder
from agent.embed.model_files import locate_model_dir

MAX_ABS_DIFF = 1e-4

_SUBJECTS = [
    "my card",
    "the transfer",
    "my refund",
    "the app",
    "my account",
    "a payment",
    "the top-up",
    "my PIN",
    "the exchange rate",
    "a direct debit",
]
_PROBLEMS = [
    "is not working",
    "was declined",
    "has not arrived",
    "shows the wrong amount",
    "was charged twice",
    "keeps failing",
    "is stuck as pending",
    "got blocked",
]
_DETAILS = [
    "since yesterday",
    "after I updated my phone",
    "while I was abroad",
    "even though I have enough money",
    "and support has not answered",
    "for the third time this week",
    "and I need it sorted today",
]


def generated_texts(n: int, *, seed: int = 0) -> list[str]:
    """Ticket-like texts of varied length, invented from templates."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        clauses = [f"{rng.choice(_SUBJECTS).capitalize()} {rng.choice(_PROBLEMS)}"]
        clauses += rng.sample(_DETAILS, k=rng.randint(0, 4))
        texts.append(" ".join(clauses) + rng.choice([".", "!", "?", " - please help."]))
    return texts


def ticket_texts(n: int, settings: Settings) -> tuple[list[str], str]:
    """``n`` texts and where they came from."""
    root = banking77_dir(settings)
    if is_present(root):
        pool = [r.text for r in read_split("test", root=root)]
        return [pool[i % len(pool)] for i in range(n)], "banking77 test split"
    return generated_texts(n), "generated"


def _best_rate(count: int, fn: Callable[[], Any], timings: list[float]) -> None:
    started = time.perf_counter()
    fn()
    timings.append(count / (time.perf_counter() - started))


def _chunks(texts: Sequence[str], size: int) -> list[Sequence[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def cold_start(threads: int) -> dict[str, float]:
    """Seconds to build the ONNX file and load it, then to load the cached file."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        first = LocalMiniLMEmbedder(models_dir=Path(tmp), threads=threads)
        build_and_load = time.perf_counter() - started
        started = time.perf_counter()
        second = LocalMiniLMEmbedder(models_dir=Path(tmp), threads=threads)
        load = time.perf_counter() - started
    if not first.built or second.built:
        raise RuntimeError("the cached ONNX file was not reused")
    return {"build_and_load_s": round(build_and_load, 3), "load_cached_s": round(load, 3)}


def _load_reference(threads: int) -> tuple[Any, float] | None:
    if importlib.util.find_spec("sentence_transformers") is None:
        return None
    import torch
    from sentence_transformers import SentenceTransformer

    if threads > 0:
        torch.set_num_threads(threads)
    started = time.perf_counter()
    model = SentenceTransformer(str(locate_model_dir()), device="cpu")
    return model, time.perf_counter() - started


def _batcher_rate(embedder: LocalMiniLMEmbedder, texts: list[str], batch: int) -> float:
    async def all_at_once() -> float:
        async with EmbeddingBatcher(embedder, max_batch=batch, max_wait_ms=2.0) as batcher:
            started = time.perf_counter()
            await asyncio.gather(*(batcher.embed(t) for t in texts))
            return len(texts) / (time.perf_counter() - started)

    return asyncio.run(all_at_once())


def run(
    n: int = 256,
    batch: int = 32,
    *,
    threads: int | None = None,
    rounds: int = 3,
    compare: bool = True,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Measure and return the figures (texts per second, best of ``rounds``)."""
    settings = settings or get_settings()
    threads = settings.embedding_threads if threads is None else threads
    texts, source = ticket_texts(n, settings)
    cold = cold_start(threads)
    onnx = LocalMiniLMEmbedder(models_dir=settings.data_dir / "models", threads=threads)
    loaded = _load_reference(threads) if compare else None
    chunks = _chunks(texts, batch)
    # single: one text per call; batch: calls of `batch` texts, as the API's batcher makes
    # them; bulk: all texts in one call, as when loading history.
    modes: dict[str, Callable[[], Any]] = {
        "onnx_single": lambda: [onnx.embed([t]) for t in texts],
        "onnx_batch": lambda: [onnx.embed(c) for c in chunks],
        "onnx_bulk": lambda: onnx.embed(texts),
    }
    if loaded is not None:
        st = loaded[0]
        modes["st_single"] = lambda: [st.encode([t]) for t in texts]
        modes["st_batch"] = lambda: [st.encode(list(c), batch_size=batch) for c in chunks]
        modes["st_bulk"] = lambda: st.encode(texts, batch_size=batch)
        cold["st_load_s"] = round(loaded[1], 3)
    timings: dict[str, list[float]] = {name: [] for name in modes}
    timings["onnx_batcher"] = []  # `n` concurrent callers through EmbeddingBatcher
    for _ in range(rounds):
        for name, fn in modes.items():
            _best_rate(n, fn, timings[name])
        timings["onnx_batcher"].append(_batcher_rate(onnx, texts, batch))
    rates = {name: round(max(values), 1) for name, values in timings.items()}
    report: dict[str, Any] = {
        "texts": source,
        "n": n,
        "batch": batch,
        "threads": threads,
        "rounds": rounds,
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "onnxruntime": onnxruntime.__version__,
        "texts_per_s": rates,
        "cold_start": cold,
    }
    if loaded is not None:
        report.update(_comparison(onnx, loaded[0], texts, batch, rates))
    return report


def _comparison(
    onnx: LocalMiniLMEmbedder, st: Any, texts: list[str], batch: int, rates: dict[str, float]
) -> dict[str, Any]:
    import sentence_transformers
    import torch

    mine = onnx.embed(texts)
    ref = st.encode(texts, batch_size=batch, convert_to_numpy=True)
    return {
        "reference": f"sentence-transformers {sentence_transformers.__version__}, "
        f"torch {torch.__version__}",
        "speedup_vs_st": {
            mode: round(rates[f"onnx_{mode}"] / rates[f"st_{mode}"], 2)
            for mode in ("single", "batch", "bulk")
        },
        "max_abs_diff": float(np.abs(mine - ref).max()),
        "min_cosine": float((mine * ref).sum(axis=1).min()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local embedder throughput.")
    parser.add_argument("--n", type=int, default=256, help="texts per timed round")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="default: the setting")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-compare", action="store_true", help="skip sentence-transformers")
    args = parser.parse_args(argv)
    report = run(
        args.n, args.batch, threads=args.threads, rounds=args.rounds, compare=not args.no_compare
    )
    print(json.dumps(report, indent=2))
    return 1 if report.get("max_abs_diff", 0.0) > MAX_ABS_DIFF else 0


if __name__ == "__main__":
    sys.exit(main())
