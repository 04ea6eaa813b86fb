"""The options that read a helpdesk's own CSV export, shared by the commands that take one
(``load-history``, ``taxonomy init``, ``eval build-golden``), and a progress printer that
writes lines even when the output is not a terminal."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from agent.datasets.mapping import PRESETS, ExportFormat, ExportFormatError, export_format

MapOpt = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Export columns for each field, e.g. 'text=Subject+Description,queue=Assignment "
        "group,priority=Priority,timestamp=Created,external_id=Ticket ID' (+ joins columns "
        "into the text; a trailing ? makes a column optional).",
    ),
]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help=f"Column names of a helpdesk's CSV export: {', '.join(PRESETS)} (--map overrides "
        "it field by field).",
    ),
]
PriorityMapOpt = Annotated[
    str | None,
    typer.Option(
        "--priority-map",
        help="Priority values as P1-P4, e.g. '1 - Critical=P1,2 - High=P2' (Urgent/High/"
        "Normal/Low, Critical and 1-4 are recognised without one).",
    ),
]
TimezoneOpt = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="Time zone of export timestamps written without a UTC offset (UTC, Europe/Paris).",
    ),
]

stderr = Console(stderr=True)


def export_from_options(
    column_map: str | None, preset: str | None, priority_map: str | None, timezone: str | None
) -> ExportFormat | None:
    """The export format the options describe (None: a plain labelled file); a mistake in an
    option exits 2 with the reason."""
    try:
        return export_format(
            column_map=column_map, preset=preset, priority_map=priority_map, timezone=timezone
        )
    except ExportFormatError as exc:
        stderr.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc


class ProgressLines:
    """``label: done/total (pct, rate/s, ETA)`` on stderr every ``every_s`` seconds and at the
    end; plain lines, so a log file or a CI console shows long work moving."""

    def __init__(self, label: str, total: int, *, every_s: float = 5.0) -> None:
        self.label, self.total, self.every_s = label, total, every_s
        self.done = 0
        self.started = self.last = time.monotonic()

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every_s or self.done >= self.total:
            self.last = now
            pct = self.done / self.total if self.total else 1.0
            rate = self.done / max(now - self.started, 1e-9)
            left = max(self.total - self.done, 0)
            eta = f", ETA {_duration(left / rate)}" if left and rate > 0 else ""
            stderr.print(
                f"{self.label}: {self.done:,}/{self.total:,} ({pct:.0%}, {rate:,.0f}/s{eta})",
                highlight=False,
            )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
