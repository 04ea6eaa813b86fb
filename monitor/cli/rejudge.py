"""``ticketwatch monitor rejudge``: judge a past window again on the labels known now."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agent.config import get_settings
from agent.db import session_scope
from monitor.cli.commands import check_ready, parse_time, window_size
from monitor.services import compute, late_labels
from monitor.services.late_labels import RejudgeReport
from monitor.stats.windows import closed_window, parse_duration

console = Console(stderr=True)


def rejudge(
    window: Annotated[str, typer.Option(help="Window size, e.g. 15m, 1h, 24h.")] = "1h",
    at: Annotated[
        str | None, typer.Option(help="ISO time; the window that closed at or before it.")
    ] = None,
    horizon: Annotated[
        str, typer.Option(help="The horizon the row is stored under, e.g. 1h, 24h, 7d.")
    ] = "1h",
    segment: Annotated[
        str | None, typer.Option(help="One segment (default: every one judged at close).")
    ] = None,
    notify: Annotated[
        bool, typer.Option(help="Send alert events to the workers (actions, webhook).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Judge a past window again on its late labels (what beat does at each label horizon)."""
    check_ready()
    try:
        horizon_s = int(parse_duration(horizon).total_seconds())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = get_settings()
    past = closed_window(window_size(window), parse_time(at))
    with session_scope() as session:
        segments = [segment] if segment else compute.judged_segments(session, window=past)
    reports: list[RejudgeReport] = []
    for seg in segments:
        with session_scope() as session:
            reports.append(
                late_labels.rejudge_window(
                    session,
                    settings=settings,
                    window=past,
                    segment=seg,
                    horizon_s=horizon_s,
                    judged_at=datetime.now(UTC),
                )
            )
    if notify:
        from monitor.worker.tasks import dispatch

        dispatch([e for r in reports for e in r.events])
    if as_json:
        typer.echo(json.dumps([r.summary() for r in reports], indent=2))
        return
    console.print(f"window {past.label}, re-judged at +{horizon}")
    console.print(_table(reports))


def _table(reports: list[RejudgeReport]) -> Table:
    table = Table("segment", "accuracy", "reference", "p", "severity or why not")
    for r in reports:
        d = r.result.details
        if r.result.insufficient:
            table.add_row(r.segment, "-", "-", "-", f"[dim]{d.get('reason', '')}[/]")
            continue
        table.add_row(
            r.segment,
            f"{r.result.value:.3f}",
            f"{d.get('reference_accuracy', float('nan')):.3f}",
            f"{r.result.p_value:.2g}",
            r.severity,
        )
    return table


def register(app: typer.Typer) -> None:
    app.command()(rejudge)
