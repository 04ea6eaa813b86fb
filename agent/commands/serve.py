"""``ticketwatch serve``: the API (and the review UI) under uvicorn."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from agent import migrate
from agent.commands.common import console
from agent.config import get_settings
from agent.embedded import resolve_database_url
from agent.metrics import MULTIPROC_ENV


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
    metrics_dir: Path | None = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        # Every process writes its metrics here and /metrics adds them up (agent/metrics.py);
        # a fresh directory per serve, so a previous run's counts never leak into this one.
        run_dir = settings.data_dir / "run"
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            metrics_dir = Path(tempfile.mkdtemp(prefix="metrics-", dir=run_dir))
        except OSError:  # a read-only data directory: the system's temporary one will do
            metrics_dir = Path(tempfile.mkdtemp(prefix="ticketwatch-metrics-"))
        os.environ[MULTIPROC_ENV] = str(metrics_dir)
    try:
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
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
