"""The SMTP side of the inbox (aiosmtpd): each step of the conversation refuses what it can as
early as it can, so a refused mail costs no storage and never reaches the model.

MAIL FROM: a bounce (empty sender) is refused; the client address's and the sender's limits
are counted (4xx over them, so a real server retries later). RCPT TO: an address that is not an
enabled tenant's is refused (550), and at most ten are taken (452). DATA: larger than the cap,
552 (aiosmtpd stops storing at the cap); then the tenant's own rate, and the mail is stored and
routed; 451 on a failure, so the sending server retries and the Message-ID keeps it one ticket.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from agent.metrics import INBOX_MESSAGES
from review_ui.inbox.intake import Limited, MailIntake
from review_ui.inbox.mail import read_mail

log = logging.getLogger(__name__)

NO_BOUNCES = "550 5.7.1 Mail with an empty sender (a bounce or an auto-reply) is not a ticket"
LIMITED = {
    Limited.CLIENT: "451 4.7.1 Too many messages from your address; try again later",
    Limited.SENDER: "451 4.7.1 Too many messages from this sender; try again later",
    Limited.TENANT: "451 4.7.1 This inbox receives too many messages right now; try again later",
}
# One message makes at most this many tickets (one per tenant addressed), whatever its
# envelope says: a flood may not multiply itself through recipients.
MAX_RECIPIENTS = 10
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients; send the rest in another message"
EMPTY = "550 5.6.0 The message has neither a subject nor any text; no ticket was made"
UNREADABLE = "554 5.6.0 The message could not be read; no ticket was made"
FAILED = "451 4.3.0 The ticket could not be stored right now; try again later"
# aiosmtpd's own replies to a message over its size limit (announced with SIZE, or sent).
AIOSMTPD_TOO_BIG = ("552 Error: Too much mail data", "552 Error: message size exceeds")


def unknown_recipient(address: str) -> str:
    return f"550 5.1.1 <{address}>: no such inbox here (an unknown or disabled tenant)"


def too_big(limit: int) -> str:
    return f"552 5.3.4 Message too big for this inbox: at most {limit:,} bytes"


class InboxSMTP(SMTP):
    """aiosmtpd's server with a size refusal that says what the limit is."""

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else str(status)
        if text.startswith(AIOSMTPD_TOO_BIG) and self.data_size_limit:
            INBOX_MESSAGES.labels("too_big").inc()
            status = too_big(self.data_size_limit)
        await super().push(status)


class InboxHandler:
    """aiosmtpd's handler hooks, each a guard in front of :class:`MailIntake`."""

    def __init__(self, intake: MailIntake) -> None:
        self.intake = intake

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not address.strip("<> "):
            return NO_BOUNCES
        limited = await self.intake.over_limit(sender=address, client=_client(session))
        if limited is not None:
            INBOX_MESSAGES.labels("rate_limited").inc()
            return LIMITED[limited]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY_RECIPIENTS
        if await self.intake.tenant_for(address) is None:
            INBOX_MESSAGES.labels("unknown_tenant").inc()
            return unknown_recipient(address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            mail = read_mail(envelope.original_content or b"")
        except Exception:  # the parser is lenient: this is a message no retry will mend
            log.exception("inbox: a message could not be read")
            INBOX_MESSAGES.labels("unreadable").inc()
            return UNREADABLE
        if not mail.subject and not mail.body:
            INBOX_MESSAGES.labels("empty").inc()
            return EMPTY
        references = []
        try:
            for address in envelope.rcpt_tos:
                tenant = await self.intake.tenant_for(address)
                if tenant is None:  # disabled since RCPT TO
                    return unknown_recipient(address)
                if await self.intake.tenant_over_limit(tenant):
                    INBOX_MESSAGES.labels("rate_limited").inc()
                    return LIMITED[Limited.TENANT]
                delivered = await self.intake.deliver(
                    mail, tenant=tenant, reply_to=envelope.mail_from or "", inbox_address=address
                )
                again = " (received before)" if delivered.duplicate else ""
                references.append(delivered.reference + again)
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception:
            log.exception("inbox: a mail could not be stored")
            INBOX_MESSAGES.labels("failed").inc()
            return FAILED
        return f"250 2.0.0 Received as {', '.join(references)}"


def _client(session: Session) -> str | None:
    peer = session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


async def start_smtp(intake: MailIntake, *, host: str, port: int) -> asyncio.Server:
    """Listen for mail; the caller closes the returned server."""
    handler = InboxHandler(intake)
    limit = intake.runtime.settings.inbox_max_message_bytes
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: InboxSMTP(
            handler, data_size_limit=limit, hostname=intake.domain or host, enable_SMTPUTF8=True
        ),
        host=host,
        port=port,
    )
