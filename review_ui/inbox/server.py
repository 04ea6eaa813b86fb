"""Running the inbox in one event loop: the agent's runtime, the SMTP server or the IMAP
poller, and the acknowledgements, until asked to stop (a signal, or a test)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from agent.config import Settings
from agent.runtime import AgentRuntime
from review_ui.inbox.acks import AckSender
from review_ui.inbox.imap import ImapPoller, parse_imap_url
from review_ui.inbox.intake import MailIntake
from review_ui.inbox.smtp import start_smtp

log = logging.getLogger(__name__)


@dataclass
class InboxOptions:
    host: str
    port: int
    imap_url: str | None = None
    imap_slug: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def run_inbox(settings: Settings, options: InboxOptions) -> None:
    """Serve until ``options.stop`` is set; ``options.ready`` once mail is taken."""
    mailbox = None
    if options.imap_url is not None:
        password = settings.inbox_imap_password
        mailbox = parse_imap_url(
            options.imap_url, password=password.get_secret_value() if password else None
        )
    runtime = await AgentRuntime.start(settings)
    acks = AckSender(settings) if settings.inbox_relay_host else None
    intake = MailIntake(runtime, acks=acks)
    try:
        if mailbox is not None:
            assert options.imap_slug is not None
            poller = ImapPoller(intake, mailbox, slug=options.imap_slug)
            log.info("inbox: polling %r for tenant %s", mailbox, options.imap_slug)
            options.ready.set()
            await poller.run(poll_s=settings.inbox_imap_poll_s, stop=options.stop)
        else:
            server = await start_smtp(intake, host=options.host, port=options.port)
            log.info("inbox: SMTP on %s:%d", options.host, options.port)
            options.ready.set()
            try:
                await options.stop.wait()
            finally:
                server.close()
                await server.wait_closed()
    finally:
        if acks is not None:
            await acks.aclose()
        await runtime.close()
        log.info("inbox: stopped")
