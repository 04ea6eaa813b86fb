"""Rich progress bars for long eval work, on a console (stderr in the CLI; stdout keeps results)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

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


class RichBars:
    """Named bars with counts, elapsed and remaining time; a context manager."""

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
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Self:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def _add(self, name: str, description: str, total: int) -> None:
        self._tasks[name] = self._bar.add_task(description, total=total)

    def _advance(self, name: str, n: int) -> None:
        if name in self._tasks:
            self._bar.advance(self._tasks[name], n)

    def _print(self, line: str) -> None:
        self._bar.console.print(line)


class RichProgress(RichBars):
    """The eval harness's ``Progress``: embedding, then routing every case k times."""

    def start(self, *, texts: int, runs: int) -> None:
        self._add("embed", "embedding golden cases", texts)
        self._add("route", "routing through the graph", runs)

    def embedded(self, n: int) -> None:
        self._advance("embed", n)

    def routed(self, n: int) -> None:
        self._advance("route", n)
