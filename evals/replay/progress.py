"""Progress of a replay: a Rich bar for history, one for tickets, one for windows."""

from __future__ import annotations

from typing import Protocol

from evals.progress import RichBars


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


class RichReplayProgress(RichBars):
    """Rich bars for history, tickets and windows."""

    def stage(self, text: str) -> None:
        self._print(f"[dim]{text}[/]")

    def history(self, total: int) -> None:
        self._add("history", "embedding and loading history", total)

    def history_loaded(self, n: int) -> None:
        self._advance("history", n)

    def replay(self, *, windows: int, tickets: int) -> None:
        self._add("tickets", "tickets through the API", tickets)
        self._add("windows", "windows judged", windows)

    def posted(self, n: int) -> None:
        self._advance("tickets", n)

    def window_done(self, line: str) -> None:
        self._advance("windows", 1)
        if line:
            self._print(line)
