"""``ticketwatch users add|list|disable|enable``: accounts of the review UI."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from agent.commands.common import cli_actor, cli_session, console, run
from agent.models.tenancy import ROLES
from agent.services.operators import Actor
from review_ui.inbox.cli import inbox
from review_ui.services.users import create_user, list_users, set_user_disabled

users_app = typer.Typer(
    help="Accounts of the review UI (roles: reviewer < operator < admin).", no_args_is_help=True
)


def _admin_actor() -> Actor:
    actor = cli_actor()
    return Actor(actor.name, "admin")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")] = "reviewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a UI account. The password is prompted (or read from stdin), stored as Argon2id."""
    password = _read_password(password_stdin)

    async def body() -> None:
        async with cli_session() as session:
            await create_user(
                session, username=name, role=role, password=password, actor=_admin_actor()
            )

    run(body)
    console.print(f"user [bold]{name}[/] created with role {role}")


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Accounts with their role, state and last sign-in."""

    async def body() -> list[dict[str, object]]:
        async with cli_session() as session:
            return [
                {
                    "username": u.username,
                    "role": u.role,
                    "active": u.disabled_at is None,
                    "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                }
                for u in await list_users(session)
            ]

    rows = run(body)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("user", "role", "active", "last sign-in")
    for r in rows:
        table.add_row(
            str(r["username"]),
            str(r["role"]),
            "yes" if r["active"] else "no",
            str(r["last_login_at"] or "-"),
        )
    console.print(table)


def _set_disabled(name: str, disabled: bool) -> None:
    async def body() -> None:
        async with cli_session() as session:
            await set_user_disabled(session, username=name, disabled=disabled, actor=_admin_actor())

    run(body)


@users_app.command("disable")
def users_disable(name: str) -> None:
    """Disable an account: its sessions end at their next request."""
    _set_disabled(name, True)
    console.print(f"user {name} disabled")


@users_app.command("enable")
def users_enable(name: str) -> None:
    """Enable a disabled account again."""
    _set_disabled(name, False)
    console.print(f"user {name} enabled")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
    app.add_typer(users_app, name="users")
    app.command()(inbox)
