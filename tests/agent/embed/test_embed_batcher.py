"""The API's micro-batcher, over the real local embedder (failures injected where needed)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvloop

from agent.config import Settings
from agent.embed import EMBEDDING_DIM, EmbeddingBatcher, make_batcher
from agent.embed.local import LocalMiniLMEmbedder

TEXTS = [f"ticket {i}: my transfer number {i * 7} has not arrived yet" for i in range(40)]

LoopRunner = Callable[[Coroutine[Any, Any, Any]], Any]


def _run_uvloop(coro: Coroutine[Any, Any, Any]) -> Any:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


# uvicorn runs the API on uvloop when it is installed, on asyncio's loop otherwise.
@pytest.fixture(params=[asyncio.run, _run_uvloop], ids=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> LoopRunner:
    runner: LoopRunner = request.param
    return runner


class CountingEmbedder:
    """The real embedder, counting its runs and the thread they run on."""

    def __init__(self, inner: LocalMiniLMEmbedder) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dim = inner.dim
        self.batch_sizes: list[int] = []
        self.threads: set[str] = set()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.batch_sizes.append(len(texts))
        self.threads.add(threading.current_thread().name)
        return self.inner.embed(texts)


class FailingEmbedder:
    """Failure injection: the first ``failures`` runs raise."""

    model_name = "failing"
    dim = EMBEDDING_DIM

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls <= self.failures:
            raise ValueError("model exploded")
        return np.ones((len(texts), self.dim), dtype=np.float32) / np.sqrt(self.dim)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> LocalMiniLMEmbedder:
    return LocalMiniLMEmbedder(models_dir=tmp_path_factory.mktemp("models"), threads=1)


@pytest.fixture(scope="module")
def expected(local: LocalMiniLMEmbedder) -> np.ndarray:
    return local.embed(TEXTS)


def test_concurrent_calls_share_model_runs(
    run: LoopRunner, local: LocalMiniLMEmbedder, expected: np.ndarray
) -> None:
    counting = CountingEmbedder(local)

    async def scenario() -> list[np.ndarray]:
        async with EmbeddingBatcher(counting, max_batch=16, max_wait_ms=50) as batcher:
            return await asyncio.gather(*(batcher.embed(t) for t in TEXTS))

    rows = run(scenario())
    assert counting.batch_sizes == [16, 16, 8]
    assert np.abs(np.stack(rows) - expected).max() <= 1e-5
    assert counting.threads and "MainThread" not in counting.threads


def test_lone_call_runs_after_max_wait(run: LoopRunner, local: LocalMiniLMEmbedder) -> None:
    counting = CountingEmbedder(local)

    async def scenario() -> np.ndarray:
        async with EmbeddingBatcher(counting, max_batch=64, max_wait_ms=5) as batcher:
            return await asyncio.wait_for(batcher.embed(TEXTS[0]), timeout=30)

    row = run(scenario())
    assert counting.batch_sizes == [1]
    assert row.shape == (EMBEDDING_DIM,)


def test_model_error_reaches_every_waiter_and_batcher_recovers(run: LoopRunner) -> None:
    failing = FailingEmbedder(failures=1)

    async def scenario() -> tuple[list[Any], np.ndarray]:
        async with EmbeddingBatcher(failing, max_batch=8, max_wait_ms=20) as batcher:
            first = await asyncio.gather(
                *(batcher.embed(t) for t in TEXTS[:5]), return_exceptions=True
            )
            return first, await batcher.embed("after the failure")

    outcomes, later = run(scenario())
    assert failing.calls == 2
    assert len(outcomes) == 5
    assert all(isinstance(o, ValueError) and "exploded" in str(o) for o in outcomes)
    assert later.shape == (EMBEDDING_DIM,)


def test_close_finishes_queued_texts_then_refuses_new_ones(
    run: LoopRunner, local: LocalMiniLMEmbedder, expected: np.ndarray
) -> None:
    async def scenario() -> list[np.ndarray]:
        batcher = EmbeddingBatcher(local, max_batch=4, max_wait_ms=1000)
        await batcher.start()
        waiters = [asyncio.ensure_future(batcher.embed(t)) for t in TEXTS[:6]]
        await asyncio.sleep(0)  # let them queue
        await batcher.aclose()
        with pytest.raises(RuntimeError, match="not running"):
            await batcher.embed("too late")
        return [w.result() for w in waiters]

    rows = run(scenario())
    assert np.abs(np.stack(rows) - expected[:6]).max() <= 1e-5


def test_cancelled_caller_does_not_disturb_the_others(
    run: LoopRunner, local: LocalMiniLMEmbedder, expected: np.ndarray
) -> None:
    counting = CountingEmbedder(local)

    async def scenario() -> list[np.ndarray]:
        async with EmbeddingBatcher(counting, max_batch=8, max_wait_ms=30) as batcher:
            waiters = [asyncio.ensure_future(batcher.embed(t)) for t in TEXTS[:4]]
            await asyncio.sleep(0)
            waiters[1].cancel()
            return [await w for i, w in enumerate(waiters) if i != 1]

    rows = run(scenario())
    assert counting.batch_sizes == [3]  # the cancelled text is not embedded
    assert np.abs(np.stack(rows) - expected[[0, 2, 3]]).max() <= 1e-5


def test_embed_before_start_is_refused(run: LoopRunner) -> None:
    batcher = EmbeddingBatcher(FailingEmbedder(failures=0))

    async def scenario() -> None:
        await batcher.embed("x")

    with pytest.raises(RuntimeError, match="not running"):
        run(scenario())


def test_embed_many_keeps_order(
    run: LoopRunner, local: LocalMiniLMEmbedder, expected: np.ndarray
) -> None:
    async def scenario() -> np.ndarray:
        async with EmbeddingBatcher(local, max_batch=7, max_wait_ms=5) as batcher:
            assert batcher.model_name == local.model_name
            return await batcher.embed_many(TEXTS[:10])

    assert np.abs(run(scenario()) - expected[:10]).max() <= 1e-5


def test_make_batcher_takes_its_sizes_from_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedding_batch_max=5, embedding_batch_wait_ms=7.5)
    batcher = make_batcher(settings, FailingEmbedder(failures=0))
    assert (batcher.max_batch, batcher.max_wait_s) == (5, 0.0075)
