"""Everything a serving process holds: engine, Redis, embedder, control plane, graph, router."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agent.config import Settings
from agent.db import make_async_engine, make_pool
from agent.embed import EmbeddingBatcher, get_embedder
from agent.embedded import resolve_database_url, resolve_redis_url
from agent.graph.context import AgentContext
from agent.graph.graph import routing_graph
from agent.services.budgets import TenantBudgets
from agent.services.classifiers import ClassifierRegistry, ReviewSampling
from agent.services.control import ControlPlane
from agent.services.neighbours import PgNeighbourStore
from agent.services.recorder import PostgresRecorder
from agent.services.router import TicketRouter
from agent.services.shadow_dispatch import ShadowDispatch, publisher
from agent.services.tenants import TenantAuthenticator
from agent.tracing import TraceExport, trace_export

log = logging.getLogger(__name__)


@dataclass
class AgentRuntime:
    settings: Settings
    engine: AsyncEngine
    pool: AsyncConnectionPool
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    control: ControlPlane
    embedder: EmbeddingBatcher
    router: TicketRouter
    tenants: TenantAuthenticator
    classifiers: ClassifierRegistry
    exporter: TraceExport
    shadows: ShadowDispatch

    @classmethod
    async def start(cls, settings: Settings) -> AgentRuntime:
        database_url = resolve_database_url(settings)
        engine = make_async_engine(database_url, settings)
        pool = make_pool(
            database_url,
            size=settings.db_pool_size,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            wait_timeout_s=settings.db_wait_timeout_s,
        )
        await pool.open(wait=False)  # serve (503s) even while the database is unreachable
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        redis = Redis.from_url(
            resolve_redis_url(settings),
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            health_check_interval=30,
        )
        control = ControlPlane(sessions, redis)
        embedder = EmbeddingBatcher(
            get_embedder(settings),
            max_batch=settings.embedding_batch_max,
            max_wait_ms=settings.embedding_batch_wait_ms,
        )
        await embedder.start()
        classifiers = ClassifierRegistry(settings)
        budgets = TenantBudgets(
            pool,
            redis,
            warn=settings.budget_warn_fraction,
            degrade=settings.budget_degrade_fraction,
            reservation_ttl_s=settings.budget_reservation_ttl_s,
        )
        context = AgentContext(
            switches=control,
            versions=control,
            embedder=embedder,
            history=PgNeighbourStore(pool),
            classifiers=classifiers,
            recorder=PostgresRecorder(pool, embedder.model_name),
            sampler=ReviewSampling(settings.review_sample_rate, control.review_boosts),
            budgets=budgets,
        )
        exporter = trace_export(settings)
        shadows = ShadowDispatch(
            shadow_label=lambda: _shadow_of(control),
            publish=publisher(resolve_redis_url(settings)),
        )
        router = TicketRouter(
            pool=pool,
            sessions=sessions,
            graph=routing_graph(),
            context=context,
            exporter=exporter,
            budgets=budgets,
            shadows=shadows,
        )
        return cls(
            settings,
            engine,
            pool,
            sessions,
            redis,
            control,
            embedder,
            router,
            TenantAuthenticator(sessions),
            classifiers,
            exporter,
            shadows,
        )

    async def close(self) -> None:
        self.exporter.close()
        self.shadows.close(flush=False)  # a shadow is a sample: queued ones may go
        await self.embedder.aclose()
        await self.redis.aclose()
        await self.pool.close()
        await self.engine.dispose()


def _shadow_of(control: ControlPlane) -> tuple[uuid.UUID, int] | None:
    ref = control.cached_label("shadow")
    return (ref.version_id, ref.canary_percent) if ref is not None else None
