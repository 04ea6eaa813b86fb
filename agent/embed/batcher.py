"""Micro-batching for the API: concurrent requests share one model run.

Each ``await batcher.embed(text)`` joins a queue. A single worker task takes up to
``max_batch`` texts once the oldest has waited ``max_wait_ms`` (or at once when the batch is
full), runs the embedder in a dedicated thread (onnxruntime releases the GIL, so the event loop
keeps serving), and resolves each caller's future with its row. Texts that arrive while a
batch runs form the next batch, so batches grow with load.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from agent.embed.base import Embedder, EmbeddingError


@dataclass
class _Request:
    text: str
    future: asyncio.Future[np.ndarray]
    arrived: float


class EmbeddingBatcher:
    """Collects concurrent ``embed`` calls into batches; use ``async with`` or start()/aclose()."""

    def __init__(self, embedder: Embedder, *, max_batch: int = 64, max_wait_ms: float = 2.0):
        if max_batch < 1 or max_wait_ms < 0:
            raise ValueError("max_batch must be >= 1 and max_wait_ms >= 0")
        self.embedder = embedder
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self.batches_run = 0
        self.texts_embedded = 0
        self._pending: deque[_Request] = deque()
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False

    @property
    def model_name(self) -> str:
        """The embedder's model, so the batcher stands in wherever one text is embedded."""
        return self.embedder.model_name

    async def __aenter__(self) -> EmbeddingBatcher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start the worker task on the running loop."""
        if self._task is not None:
            return
        self._closing = False
        self._has_work = asyncio.Event()
        self._full = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._task = asyncio.create_task(self._run(), name="embedding-batcher")

    async def aclose(self) -> None:
        """Stop taking texts, finish the ones already queued, stop the worker."""
        if self._task is None:
            return
        self._closing = True
        self._has_work.set()
        self._full.set()
        try:
            await self._task
        finally:
            self._task = None
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None

    async def embed(self, text: str) -> np.ndarray:
        """The text's embedding row, computed in a shared batch."""
        if self._task is None or self._task.done() or self._closing:
            raise RuntimeError("EmbeddingBatcher is not running: use `async with` or start()")
        loop = asyncio.get_running_loop()
        request = _Request(text, loop.create_future(), loop.time())
        self._pending.append(request)
        self._has_work.set()
        if len(self._pending) >= self.max_batch:
            self._full.set()
        return await request.future

    async def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        """Rows for several texts, each queued like a single call."""
        rows = await asyncio.gather(*(self.embed(t) for t in texts))
        return np.stack(rows) if rows else np.empty((0, self.embedder.dim), np.float32)

    async def _run(self) -> None:
        in_flight: list[_Request] = []
        try:
            while True:
                if not self._pending:
                    if self._closing:
                        return
                    self._has_work.clear()
                    await self._has_work.wait()
                    continue
                await self._wait_for_batch()
                in_flight = self._take_batch()
                await self._process(in_flight)
                in_flight = []
        except BaseException:  # cancelled or broken: nobody may wait forever
            stopped = RuntimeError("EmbeddingBatcher stopped before this text was embedded")
            for request in [*in_flight, *self._pending]:
                if not request.future.done():
                    request.future.set_exception(stopped)
            self._pending.clear()
            raise

    async def _wait_for_batch(self) -> None:
        if self._closing or len(self._pending) >= self.max_batch:
            return
        loop = asyncio.get_running_loop()
        remaining = self._pending[0].arrived + self.max_wait_s - loop.time()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), remaining)

    def _take_batch(self) -> list[_Request]:
        count = min(self.max_batch, len(self._pending))
        batch = [self._pending.popleft() for _ in range(count)]
        if len(self._pending) < self.max_batch:
            self._full.clear()
        return [r for r in batch if not r.future.done()]  # drop cancelled callers

    async def _process(self, batch: list[_Request]) -> None:
        if not batch:
            return
        loop = asyncio.get_running_loop()
        texts = [r.text for r in batch]
        try:
            rows = await loop.run_in_executor(self._executor, self.embedder.embed, texts)
            if rows.shape != (len(batch), self.embedder.dim):
                raise EmbeddingError(f"embedder returned {rows.shape} for {len(batch)} texts")
        except Exception as exc:
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        self.batches_run += 1
        self.texts_embedded += len(batch)
        for request, row in zip(batch, rows, strict=True):
            if not request.future.done():
                request.future.set_result(row.copy())
