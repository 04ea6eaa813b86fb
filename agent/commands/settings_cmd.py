"""``ticketwatch settings``: every setting, its environment variables and effective value."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import SecretStr
from rich.table import Table

from agent.commands.common import console
from agent.config import Settings, env_names, get_settings, settings_reference
from agent.logs import mask_secrets


def markdown_table() -> str:
    """The README's configuration table."""
    lines = ["| environment variable | default | what it does |", "|---|---|---|"]
    lines += [f"| {env} | {default} | {desc} |" for env, default, desc in settings_reference()]
    return "\n".join(lines)


def show(value: object) -> str:
    if isinstance(value, SecretStr):
        return "(set, hidden)"
    return "unset" if value is None else mask_secrets(str(value))


def settings(
    markdown: Annotated[bool, typer.Option(help="Print the reference table as Markdown.")] = False,
) -> None:
    """Show every setting with its environment variable and the value in effect (secrets
    hidden)."""
    if markdown:
        typer.echo(markdown_table())
        return
    current = get_settings()
    table = Table("setting", "environment variable", "value")
    for name in Settings.model_fields:
        table.add_row(name, " / ".join(env_names(name)), show(getattr(current, name)))
    console.print(table)
