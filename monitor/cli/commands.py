"""``ticketwatch worker``, ``beat`` and ``monitor compute/backfill``: the worker, its schedule,
windows on demand."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from agent import migrate
from agent.config import get_settings
from agent.db import session_scope
from agent.embedded import resolve_database_url
from monitor.services import compute
from monitor.services.compute import WindowReport
from monitor.stats.windows import (
    as_utc,
    closed_window,
    parse_duration,
    parse_horizons,
    parse_segment_kinds,
    parse_window_sizes,
    windows_between,
)

monitor_app = typer.Typer(
    help="The monitor: compute windows on demand, backfill, rebaseline, status.",
    no_args_is_help=True,
)
console = Console(stderr=True)
LogLevel = Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")]


def check_ready() -> None:
    """Exit with a clear message when the settings or the schema are not usable."""
    settings = get_settings()
    try:
        parse_window_sizes(settings.monitor_window_sizes)
        parse_duration(settings.monitor_false_alarm_period)
        parse_duration(settings.monitor_reference_period)
        parse_segment_kinds(settings.monitor_segments)
        parse_horizons(settings.monitor_label_horizons)
        compute.evidence_groups(settings.monitor_evidence_groups)
    except ValueError as exc:
        console.print(f"[red]invalid monitor setting:[/] {exc}")
        raise typer.Exit(2) from exc
    url = resolve_database_url(settings)
    current, head = migrate.current_revision(url), migrate.head_revision()
    if current != head:
        console.print(
            f"[red]the database schema is at {current or 'empty'}, not {head}[/]: "
            "run `ticketwatch migrate`"
        )
        raise typer.Exit(1)


def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Tasks at once (default: the setting).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Prometheus port; 0: none (default: the setting).")
    ] = None,
    loglevel: LogLevel = "INFO",
) -> None:
    """Run a Celery worker of the monitor (until SIGTERM or Ctrl-C: a warm shutdown lets
    running tasks finish; unfinished ones are delivered again)."""
    from monitor.worker import metrics
    from monitor.worker.celery_app import QUEUE, app

    check_ready()
    settings = get_settings()
    metrics.serve(settings.monitor_metrics_port if metrics_port is None else metrics_port)
    app.worker_main(
        [
            "worker",
            "--pool=threads",
            f"--concurrency={concurrency or settings.monitor_worker_concurrency}",
            f"--loglevel={loglevel}",
            f"--queues={QUEUE}",
            f"--hostname=monitor@{socket.gethostname()}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def beat(
    schedule_file: Annotated[
        Path | None,
        typer.Option(help="Where beat keeps its last runs (default: <data_dir>/celerybeat)."),
    ] = None,
    loglevel: LogLevel = "INFO",
) -> None:
    """Run Celery beat: once per window size, schedule the window that just closed."""
    from monitor.worker.celery_app import app

    check_ready()
    settings = get_settings()
    path = schedule_file or settings.data_dir / "celerybeat" / "schedule"
    path.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", f"--schedule={path}", f"--loglevel={loglevel}"])


def parse_time(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time") from exc


def window_size(text: str) -> int:
    try:
        return parse_window_sizes(text)[0]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _compute(size_s: int, at: datetime, segment: str | None) -> list[WindowReport]:
    """Every watched segment of the window that closed at or before ``at``."""
    settings = get_settings()
    window = closed_window(size_s, at)
    if segment is None:
        with session_scope() as session:
            segments = compute.segments_of(session, settings=settings, window=window)
    else:
        segments = [segment]
    reports = []
    for seg in segments:
        with session_scope() as session:
            reports.append(
                compute.compute_window(session, settings=settings, window=window, segment=seg)
            )
    return reports


def _dispatch(reports: list[WindowReport]) -> int:
    from monitor.worker.tasks import dispatch

    events = [e for r in reports for e in r.events]
    dispatch(events)
    return len(events)


def _table(reports: list[WindowReport]) -> Table:
    table = Table("segment", "tickets", "severity", "evidence / threshold", "drifted or why not")
    for r in reports:
        if r.insufficient:
            table.add_row(r.segment, str(r.n), "[dim]insufficient[/]", "-", r.reason or "")
            continue
        colour = {"critical": "red", "warning": "yellow"}.get(r.severity, "green")
        drifted = ", ".join(x.name for x in r.results if x.drifted) or "-"
        table.add_row(
            r.segment,
            str(r.n),
            f"[{colour}]{r.severity}[/]",
            f"{r.score:.1f} / {r.threshold:.1f}",
            drifted,
        )
    return table


@monitor_app.command("run")
def run_command(
    window: Annotated[str, typer.Option(help="Window size, e.g. 15m, 1h, 24h.")] = "1h",
    at: Annotated[
        str | None, typer.Option(help="ISO time; the window that closed at or before it.")
    ] = None,
    segment: Annotated[str | None, typer.Option(help="One segment (default: all seen).")] = None,
    notify: Annotated[
        bool, typer.Option(help="Send alert events to the workers (actions, webhook).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Compute a window now (on demand) for every segment seen in it."""
    check_ready()
    reports = _compute(window_size(window), parse_time(at), segment)
    sent = _dispatch(reports) if notify else 0
    if as_json:
        typer.echo(json.dumps([r.summary() for r in reports], indent=2))
        return
    console.print(f"window {reports[0].window.label}")
    console.print(_table(reports))
    if sent:
        console.print(f"{sent} alert event(s) sent to the workers")


@monitor_app.command("backfill")
def backfill(
    start: Annotated[str, typer.Option("--from", help="ISO time: windows ending after it.")],
    end: Annotated[
        str | None, typer.Option("--to", help="ISO time: windows ending up to it (now).")
    ] = None,
    window: Annotated[str, typer.Option(help="Window size(s), e.g. 1h or 15m,1h.")] = "1h",
    notify: Annotated[
        bool, typer.Option(help="Send alert events to the workers (off: past alerts stay quiet).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Recompute every window of a period, oldest first (idempotent: rows are replaced)."""
    check_ready()
    begin, finish = parse_time(start), parse_time(end)
    try:
        sizes = parse_window_sizes(window)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    windows = [w for size in sizes for w in windows_between(size, begin, finish)]
    reports: list[WindowReport] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("windows", total=len(windows))
        for w in windows:
            progress.update(task, description=w.label)
            reports += _compute(w.size_s, w.end, None)
            progress.advance(task)
    sent = _dispatch(reports) if notify else 0
    summary = {
        "windows": len(windows),
        "segments_computed": len(reports),
        "insufficient": sum(r.insufficient for r in reports),
        "alerting": sum(r.severity != "none" for r in reports),
        "events": [f"{e.kind}:{e.alert_id}" for r in reports for e in r.events],
        "events_sent": sent,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        console.print(summary)
