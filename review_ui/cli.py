"""Commands that `review_ui` adds to the `ticketwatch` CLI."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
