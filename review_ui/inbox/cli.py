"""``ticketwatch inbox``: mail to ``<tenant-slug>@<domain>`` becomes tickets."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from agent.commands.common import console
from agent.config import Settings, get_settings

if TYPE_CHECKING:
    from review_ui.inbox.server import InboxOptions


def inbox(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="SMTP port (default: settings).")] = None,
    imap: Annotated[
        str | None,
        typer.Option(
            "--imap",
            help="Poll this mailbox instead of serving SMTP, e.g. imaps://user@host:993/INBOX.",
        ),
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="With --imap: the slug of the tenant the mailbox serves.")
    ] = None,
    metrics_port: Annotated[
        int, typer.Option(help="Serve Prometheus metrics on this port; 0: none.")
    ] = 0,
) -> None:
    """Receive mail over SMTP (or poll an IMAP mailbox) and route each mail as a ticket
    (channel email); acknowledge it through the relay when one is configured."""
    if imap is not None and not tenant:
        console.print("[red]error:[/] --imap needs --tenant SLUG (whose mailbox it is)")
        raise typer.Exit(2)
    settings = get_settings()
    # aiosmtpd logs every command (addresses included) at INFO: its warnings are enough.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    if imap is not None:
        _check_imap_url(imap, settings)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    # Imported here: every `ticketwatch` command loads this module, and the inbox's imports
    # (aiosmtpd, the agent's runtime) are only for this one.
    from review_ui.inbox.server import InboxOptions

    options = InboxOptions(
        host=host or settings.inbox_host,
        port=port or settings.inbox_port,
        imap_url=imap,
        imap_slug=tenant,
    )
    where = f"polling {tenant}'s mailbox" if imap else f"SMTP on {options.host}:{options.port}"
    acks = "through " + settings.inbox_relay_host if settings.inbox_relay_host else "off"
    console.print(f"inbox: {where}; acknowledgements {acks}. Ctrl-C stops it.")
    asyncio.run(_serve(options))


def _check_imap_url(url: str, settings: Settings) -> None:
    from review_ui.inbox.imap import parse_imap_url

    password = settings.inbox_imap_password
    try:
        parse_imap_url(url, password=password.get_secret_value() if password else None)
    except ValueError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc


async def _serve(options: InboxOptions) -> None:
    from review_ui.inbox.server import run_inbox

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, options.stop.set)
    await run_inbox(get_settings(), options)
