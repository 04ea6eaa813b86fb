"""A Rich progress bar for eval runs (embedding, then routing every case k times)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichProgress:
    """Implements the harness's ``Progress`` with two bars."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self._embed: TaskID | None = None
        self._route: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def start(self, *, texts: int, runs: int) -> None:
        self._embed = self._bar.add_task("embedding golden cases", total=texts)
        self._route = self._bar.add_task("routing through the graph", total=runs)

    def embedded(self, n: int) -> None:
        if self._embed is not None:
            self._bar.advance(self._embed, n)

    def routed(self, n: int) -> None:
        if self._route is not None:
            self._bar.advance(self._route, n)
