"""``ticketwatch monitor rebaseline`` and ``monitor status``."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agent.config import get_settings
from agent.db import session_scope
from agent.services.operators import Actor
from monitor.services import references
from monitor.services.references import BaselineError
from monitor.stats.windows import as_utc, parse_duration

console = Console(stderr=True)


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time") from exc


def rebaseline(
    start: Annotated[str | None, typer.Option("--from", help="ISO time the period starts.")] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="ISO time it ends (default: now).")
    ] = None,
    last: Annotated[
        str | None, typer.Option(help="Or: the last period, e.g. 7d (default: the setting).")
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Version whose traffic (default: production).")
    ] = None,
    note: Annotated[str, typer.Option(help="Why (kept with the reference and audited).")] = "",
) -> None:
    """Make a period of a version's traffic its reference (after an intended change)."""
    settings = get_settings()
    finish = _time(end) or datetime.now(UTC)
    begin = _time(start) or finish - parse_duration(last or settings.monitor_reference_period)
    actor = Actor(f"cli:{getpass.getuser()}", "operator")
    try:
        with session_scope() as session:
            done = references.rebaseline(
                session,
                settings=settings,
                semver=version,
                start=begin,
                end=finish,
                actor=actor,
                note=note,
            )
    except BaselineError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"reference {done.reference_id}: {done.n_tickets} decisions of {done.semver} received "
        f"{begin.isoformat()} – {finish.isoformat()}; calibrations are recomputed on next use"
    )


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """References, cached calibrations, latest windows and open alerts."""
    with session_scope() as session:
        state = references.status(session)
    if as_json:
        typer.echo(json.dumps(state, indent=2, default=str))
        return
    refs = Table("reference", "kind", "version", "period", "tickets", "calibrations", "by")
    for r in state["references"]:
        refs.add_row(
            r["id"][:8],
            r["kind"],
            r["version"] or "-",
            r["period"],
            str(r["n_tickets"]),
            str(r["calibrations"]),
            r["created_by"],
        )
    console.print(refs)
    windows = Table("window", "latest end", "segments")
    for w in state["windows"]:
        windows.add_row(w["window"], w["latest_end"], str(w["segments"]))
    console.print(windows)
    alert_table = Table("alert", "segment", "window", "severity", "status", "score", "since")
    for a in state["open_alerts"]:
        alert_table.add_row(
            a["id"][:8],
            a["segment"],
            a["window"],
            a["severity"],
            a["status"],
            f"{a['score']:.1f}",
            a["opened_at"],
        )
    console.print(alert_table if state["open_alerts"] else "no open alert")


def register(app: typer.Typer) -> None:
    app.command()(rebaseline)
    app.command()(status)
