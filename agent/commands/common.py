"""What the CLI commands share: async sessions, the acting operator, error reporting."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
from redis.asyncio import Redis
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.config import Settings, get_settings
from agent.db import make_async_engine
from agent.embedded import resolve_database_url, resolve_redis_url
from agent.services.control import ControlPlane
from agent.services.operators import Actor, OperatorError

console = Console()
T = TypeVar("T")


def cli_actor() -> Actor:
    """The person at the terminal, as recorded in the audit log."""
    return Actor(name=f"cli:{getpass.getuser()}", role="operator")


@asynccontextmanager
async def cli_session(
    *,
    notify_control: bool = False,
    settings: Settings | None = None,
    application_name: str = "ticketwatch-cli",
) -> AsyncIterator[AsyncSession]:
    """One committed unit of work; ``notify_control`` tells serving processes to reload."""
    settings = settings or get_settings()
    engine = make_async_engine(
        resolve_database_url(settings), settings, application_name=application_name
    )
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            async with session.begin():
                yield session
        if notify_control:
            redis = Redis.from_url(resolve_redis_url(settings), socket_timeout=2)
            try:
                await ControlPlane(async_sessionmaker(engine), redis).changed()
            finally:
                await redis.aclose()
    finally:
        await engine.dispose()


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async command body; operator mistakes exit 1 with the reason, not a traceback."""
    try:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]
    except OperatorError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
