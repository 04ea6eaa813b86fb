"""``ticketwatch services up|down|status`` and ``ticketwatch migrate``."""

from __future__ import annotations

import json
import time

import typer
from rich.console import Console
from rich.table import Table

from agent import migrate as migrations
from agent.config import get_settings
from agent.embedded import resolve_database_url
from agent.embedded.manager import services_for
from agent.logs import mask_secrets
from migrations.classifier_kinds import KindsInUseError

app = typer.Typer(help="Manage the embedded Postgres (pgvector) and Redis.", no_args_is_help=True)
console = Console()


@app.command()
def up() -> None:
    """Start the embedded services that are not running (data is kept between runs)."""
    settings = get_settings()
    t0 = time.perf_counter()
    records = services_for(settings).up()
    for rec in records.values():
        console.print(f"[green]●[/] {rec.name:9} pid {rec.pid:<7} {mask_secrets(rec.url)}")
    console.print(f"ready in {time.perf_counter() - t0:.2f}s (data: {settings.data_dir})")


@app.command()
def down() -> None:
    """Stop the embedded services. Their data stays under the data directory."""
    services_for(get_settings()).down()
    console.print("embedded services stopped")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show the embedded services: running or not, pid, where they listen, uptime."""
    settings = get_settings()
    rows = services_for(settings).status()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "running": r.running,
                        "pid": r.pid,
                        "url": mask_secrets(r.url) if r.url else None,
                        "uptime_s": r.uptime_s,
                        "details": r.details,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    table = Table(title=f"embedded services ({settings.data_dir})")
    for col in ("service", "state", "pid", "listens on", "uptime"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.name,
            "[green]running[/]" if r.running else "[red]stopped[/]",
            str(r.pid or "-"),
            mask_secrets(r.url) if r.url else "-",
            f"{r.uptime_s:.0f}s" if r.uptime_s is not None else "-",
        )
    console.print(table)
    if settings.database_url or settings.redis_url:
        console.print("note: DATABASE_URL / REDIS_URL are set; the processes use those instead.")


def migrate(
    revision: str = typer.Option("head", help="Target revision."),
    down_to: str = typer.Option(None, "--downgrade", help="Downgrade to this revision instead."),
) -> None:
    """Bring the database schema up to date (idempotent; safe to run concurrently)."""
    url = resolve_database_url(get_settings())
    before = migrations.current_revision(url)
    notes: list[str] = []
    try:
        if down_to:
            migrations.downgrade(url, down_to)
        else:
            notes = migrations.upgrade(url, revision)
    except KindsInUseError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    after = migrations.current_revision(url)
    state = "already up to date" if before == after else f"{before or 'empty'} → {after}"
    console.print(f"database schema at {after or 'base'} ({state})")
    for note in notes:
        console.print(note)
