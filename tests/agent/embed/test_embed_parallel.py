"""Bulk embedding on worker threads: same vectors, input order, real concurrency, failures in
order; and the bulk embedding the settings give."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from agent.config import Settings
from agent.embed import EMBEDDING_DIM, Embedder, embed_chunks, get_bulk_embedding
from agent.embed.factory import MAX_DEFAULT_WORKERS
from agent.embed.local import LocalMiniLMEmbedder
from agent.embed.parallel import usable_cores

TEXTS = [f"my card number {i} was declined at the shop" + " again" * (i % 7) for i in range(50)]


def chunked(texts: Sequence[str], size: int) -> list[Sequence[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


class Recording:
    """An embedder that records which thread embedded each chunk; a row is the text's length."""

    model_name, dim = "recording", 1

    def __init__(self, *, meet: threading.Barrier | None = None, fail_on: str = "") -> None:
        self.meet, self.fail_on = meet, fail_on
        self.threads: list[int] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.threads.append(threading.get_ident())
        if self.meet is not None:
            self.meet.wait()  # broken (an error) unless the other worker arrives too
        if self.fail_on in texts:
            raise RuntimeError(f"cannot embed {self.fail_on!r}")
        return np.array([[len(t)] for t in texts], dtype=np.float32)


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_chunks_come_back_in_order_with_the_serial_vectors(
    embedder: Embedder, workers: int
) -> None:
    # A text's vector depends (by ~1e-7) on the run it shares, so compare chunk by chunk.
    serial = np.vstack([embedder.embed(chunk) for chunk in chunked(TEXTS, 7)])
    parts = list(embed_chunks(embedder, chunked(TEXTS, 7), workers=workers))
    assert [len(p) for p in parts] == [7] * 7 + [1]
    assert np.array_equal(np.vstack(parts), serial)


def test_workers_embed_chunks_at_the_same_time() -> None:
    # Each chunk waits at a barrier for a second chunk: embedded one after the other, the
    # first would wait for ever (the timeout turns that into an error).
    recording = Recording(meet=threading.Barrier(2, timeout=30))
    parts = list(embed_chunks(recording, chunked(TEXTS[:40], 10), workers=2))
    assert [int(p[0, 0]) for p in parts] == [len(TEXTS[i]) for i in (0, 10, 20, 30)]
    assert threading.get_ident() not in recording.threads


def test_one_worker_embeds_in_the_callers_thread() -> None:
    recording = Recording()
    assert len(list(embed_chunks(recording, chunked(TEXTS, 10), workers=1))) == 5
    assert set(recording.threads) == {threading.get_ident()}


def test_a_failed_chunk_raises_after_the_chunks_before_it() -> None:
    recording = Recording(fail_on=TEXTS[25])
    got: list[np.ndarray] = []
    with pytest.raises(RuntimeError, match="cannot embed"):
        for part in embed_chunks(recording, chunked(TEXTS, 10), workers=3):
            got.append(part)
    assert len(got) == 2  # chunks 0 and 1; chunk 2 failed; 3 and 4 are never handed over


def test_bulk_embedding_uses_single_threaded_runs_on_every_core(tmp_path: Path) -> None:
    bulk = get_bulk_embedding(Settings(data_dir=tmp_path, embedding_threads=3))
    assert bulk.workers == min(usable_cores(), MAX_DEFAULT_WORKERS)
    assert isinstance(bulk.embedder, LocalMiniLMEmbedder)
    assert bulk.embedder._session.get_session_options().intra_op_num_threads == 1
    assert bulk.embedder.embed(["card declined"]).shape == (1, EMBEDDING_DIM)
    assert get_bulk_embedding(Settings(data_dir=tmp_path, load_workers=3)).workers == 3
