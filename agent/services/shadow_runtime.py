"""What a worker process holds to run shadows: one event loop on its own thread, one pool,
one control plane and classifier registry, shared by the worker's task threads."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import numpy as np
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent.config import Settings
from agent.db import make_async_engine, make_pool
from agent.embed import get_embedder
from agent.embed.base import Embedder
from agent.embedded import resolve_database_url, resolve_redis_url
from agent.graph.graph import routing_graph
from agent.services.classifiers import ClassifierRegistry
from agent.services.control import ControlPlane
from agent.services.neighbours import PgNeighbourStore
from agent.services.shadow import ShadowOutcome, ShadowRunner

T = TypeVar("T")


class LazyEmbedder:
    """The deployment's embedding model, loaded on the first ticket that needs it (a ticket
    production stopped before embedding, e.g. under a kill switch)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._embedder: Embedder | None = None
        self.model_name = settings.embedding_model

    async def embed(self, text: str) -> np.ndarray:
        if self._embedder is None:
            self._embedder = get_embedder(self._settings)
        return (await asyncio.to_thread(self._embedder.embed, [text]))[0]


class ShadowRuntime:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="shadow-loop", daemon=True
        )
        self._thread.start()
        self._runner: ShadowRunner = self._call(self._start())

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        """Close the pool and stop the loop (tests; a worker keeps it for its life)."""
        self._call(self._runner.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> ShadowRunner:
        settings = self._settings
        url = resolve_database_url(settings)
        engine = make_async_engine(url, settings, application_name="ticketwatch-shadow")
        pool = make_pool(
            url,
            size=settings.db_pool_size,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            wait_timeout_s=settings.db_wait_timeout_s,
        )
        await pool.open(wait=False)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        redis = Redis.from_url(resolve_redis_url(settings), socket_timeout=2)
        history = PgNeighbourStore(pool)
        return ShadowRunner(
            settings=settings,
            pool=pool,
            sessions=sessions,
            control=ControlPlane(sessions, redis),
            redis=redis,
            graph=routing_graph(),
            history=history,
            history_as_of=history.as_of,
            classifiers=ClassifierRegistry(settings),
            embedder=LazyEmbedder(settings),
        )

    def run(self, ticket_id: uuid.UUID, version_id: uuid.UUID) -> ShadowOutcome:
        return self._call(self._runner.run(ticket_id, version_id))

    def replay(self, ticket_id: uuid.UUID, version_id: uuid.UUID) -> dict[str, Any] | None:
        """The version's decision on the ticket, in memory (nothing recorded)."""
        return self._call(self._runner.replay(ticket_id, version_id))


_runtime: ShadowRuntime | None = None
_lock = threading.Lock()


def shadow_runtime(settings: Settings) -> ShadowRuntime:
    """The process's shadow runtime, started on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = ShadowRuntime(settings)
        return _runtime


def close_shadow_runtime() -> None:
    """Close the process's shadow runtime, if started (tests pointing at a new database)."""
    global _runtime
    with _lock:
        if _runtime is not None:
            _runtime.close()
            _runtime = None
