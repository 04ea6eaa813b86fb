"""``ticketwatch serve``: the API (and the review UI) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from agent import migrate
from agent.commands.common import console
from agent.config import get_settings
from agent.embedded import resolve_database_url


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes.")] = 1,
    run_migrations: Annotated[bool, typer.Option("--migrate", help="Migrate first.")] = False,
) -> None:
    """Serve the API and the review UI."""
    settings = get_settings()
    url = resolve_database_url(settings)
    if run_migrations:
        migrate.upgrade(url)
    current, head = migrate.current_revision(url), migrate.head_revision()
    if current != head:
        console.print(
            f"[red]the database schema is at {current or 'empty'}, not {head}[/]: "
            "run `ticketwatch migrate` (or pass --migrate)"
        )
        raise typer.Exit(1)
    uvicorn.run(
        "agent.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
        access_log=False,
    )
