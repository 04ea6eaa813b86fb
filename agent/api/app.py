"""The FastAPI application: the agent's API, plus routers that plugins add (the review UI)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import entry_points
from typing import Any

from fastapi import FastAPI

from agent.api import schemas
from agent.api.body_limits import BodyGuard
from agent.api.errors import install_error_handlers
from agent.api.http_metrics import ResponseMetrics
from agent.api.routes import health, outcomes, tickets
from agent.config import Settings, get_settings
from agent.metrics import RECONCILED
from agent.runtime import AgentRuntime

log = logging.getLogger(__name__)

RuntimeFactory = Callable[[Settings], Awaitable[AgentRuntime]]

DESCRIPTION = """Routes customer-support tickets to a queue and a priority, with class
probabilities, and hands them to human triage when it should not decide: a kill switch is on,
a model failed, the ticket is unlike anything in history, or confidence is low.

Authenticate with a tenant API key: `Authorization: Bearer <key>`."""


async def _reconcile_forever(runtime: AgentRuntime) -> None:
    """Finish tickets a crash left without a decision, for as long as the process runs."""
    while True:
        await asyncio.sleep(runtime.settings.reconcile_interval_s)
        try:
            RECONCILED.inc(
                await runtime.router.reconcile(older_than_s=runtime.settings.reconcile_after_s)
            )
        except Exception as exc:  # noqa: BLE001 - keep trying; the database may be back soon
            log.warning("reconciliation pass failed: %s", exc)


def _load_plugins(app: FastAPI) -> None:
    for ep in sorted(entry_points(group="ticketwatch.web"), key=lambda e: e.name):
        install = ep.load()
        install(app)


def create_app(
    settings: Settings | None = None,
    *,
    runtime_factory: RuntimeFactory = AgentRuntime.start,
    plugins: bool = True,
) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await runtime_factory(settings)
        app.state.runtime = runtime
        reconciler = asyncio.create_task(_reconcile_forever(runtime))
        try:
            yield
        finally:
            reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconciler
            await runtime.close()

    app = FastAPI(title="ticketwatch", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(tickets.router)
    app.include_router(outcomes.router)
    app.include_router(health.router)
    if plugins:
        _load_plugins(app)
    app.add_middleware(BodyGuard, max_bytes=settings.max_ticket_bytes, json_prefixes=("/v1/",))
    app.add_middleware(ResponseMetrics)  # outermost: counts the guard's rejections too
    _add_openapi_components(app)
    return app


def _add_openapi_components(app: FastAPI) -> None:
    """Schemas the request models refer to by name but Pydantic does not generate."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = generate()
            doc.setdefault("components", {}).setdefault("schemas", {}).update(
                schemas.OPENAPI_COMPONENTS
            )
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
