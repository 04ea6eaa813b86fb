"""Progress of a replay: a Rich bar for history, one for tickets, one for windows."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

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


class ReplayProgress(Protocol):
    def stage(self, text: str) -> None: ...
    def history(self, total: int) -> None: ...
    def history_loaded(self, n: int) -> None: ...
    def replay(self, *, windows: int, tickets: int) -> None: ...
    def posted(self, n: int) -> None: ...
    def window_done(self, line: str) -> None: ...


class QuietProgress:
    """A progress that shows nothing (tests, --json)."""

    def stage(self, text: str) -> None:
        pass

    def history(self, total: int) -> None:
        pass

    def history_loaded(self, n: int) -> None:
        pass

    def replay(self, *, windows: int, tickets: int) -> None:
        pass

    def posted(self, n: int) -> None:
        pass

    def window_done(self, line: str) -> None:
        pass


class RichReplayProgress:
    """Rich bars on ``console`` (stderr in the CLI, so stdout stays for results)."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self._console = console
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

    def __enter__(self) -> RichReplayProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def stage(self, text: str) -> None:
        self._bar.console.print(f"[dim]{text}[/]")

    def history(self, total: int) -> None:
        self._tasks["history"] = self._bar.add_task("embedding and loading history", total=total)

    def history_loaded(self, n: int) -> None:
        self._bar.advance(self._tasks["history"], n)

    def replay(self, *, windows: int, tickets: int) -> None:
        self._tasks["tickets"] = self._bar.add_task("tickets through the API", total=tickets)
        self._tasks["windows"] = self._bar.add_task("windows judged", total=windows)

    def posted(self, n: int) -> None:
        self._bar.advance(self._tasks["tickets"], n)

    def window_done(self, line: str) -> None:
        self._bar.advance(self._tasks["windows"], 1)
        if line:
            self._bar.console.print(line)
