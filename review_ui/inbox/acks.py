"""The acknowledgement of a mail: its reference and private status link, sent through the
configured SMTP relay (``inbox_relay_*``; none configured, none sent). Sending happens after
the ticket is stored and routed, off the SMTP conversation, and a failure is logged, never
retried into a loop; the relay's password is never logged."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from agent.config import Settings
from review_ui.inbox.mail import InboundMail
from review_ui.services.portal import Received

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Acknowledgement:
    to: str
    inbox_address: str
    tenant_name: str
    mail: InboundMail
    received: Received
    status_url: str


def compose(ack: Acknowledgement, *, from_address: str | None) -> EmailMessage:
    """The reply: marked auto-replied (RFC 3834) so that responders do not answer it."""
    message = EmailMessage()
    message["From"] = formataddr((ack.tenant_name, from_address or ack.inbox_address))
    message["To"] = ack.to
    subject = ack.mail.subject or "your message"
    message["Subject"] = f"[{ack.received.reference}] We received: {subject}"[:250]
    message["Auto-Submitted"] = "auto-replied"
    message["Message-ID"] = make_msgid(domain=(from_address or ack.inbox_address).split("@")[-1])
    if not ack.mail.external_id.startswith("sha256:"):
        message["In-Reply-To"] = f"<{ack.mail.external_id}>"
        message["References"] = f"<{ack.mail.external_id}>"
    message.set_content(_text(ack))
    return message


def _text(ack: Acknowledgement) -> str:
    received = ack.received
    if received.first_response:
        target = f"We aim to answer within {received.first_response}."
    else:
        target = "A person will look at it and set its priority."
    team = f"It is with {received.team}.\n" if received.team else ""
    greeting = f"Hello {ack.mail.sender_name}," if ack.mail.sender_name else "Hello,"
    return (
        f"{greeting}\n\n"
        f"{ack.tenant_name} received your message.\n\n"
        f"Your reference: {received.reference}\n"
        f"{target}\n{team}\n"
        f"Follow it here (a private link; do not share it):\n{ack.status_url}\n\n"
        "This is an automatic reply.\n"
    )


class AckSender:
    """Sends acknowledgements one after another, in the order the mail was accepted, from a
    background task: the SMTP conversation never waits for the relay."""

    def __init__(self, settings: Settings) -> None:
        assert settings.inbox_relay_host, "acknowledgements need inbox_relay_host"
        self._settings = settings
        self._queue: asyncio.Queue[Acknowledgement | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def send_later(self, ack: Acknowledgement) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())
        self._queue.put_nowait(ack)

    async def aclose(self) -> None:
        """Send what is queued, then stop."""
        if self._worker is not None:
            self._queue.put_nowait(None)
            await self._worker

    async def _work(self) -> None:
        while (ack := await self._queue.get()) is not None:
            await self._send(ack)

    async def _send(self, ack: Acknowledgement) -> None:
        message = compose(ack, from_address=self._settings.inbox_ack_from)
        try:
            await asyncio.to_thread(send_via_relay, self._settings, message)
        except (OSError, smtplib.SMTPException) as exc:
            # The type only: a relay's error text may echo what it was sent.
            log.warning(
                "acknowledgement %s to %s not sent: %s",
                ack.received.reference,
                ack.to,
                type(exc).__name__,
            )


def send_via_relay(settings: Settings, message: EmailMessage) -> None:
    host, port, mode = (
        settings.inbox_relay_host,
        settings.inbox_relay_port,
        settings.inbox_relay_tls,
    )
    assert host is not None
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if mode == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=30, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=30)
    with smtp:
        if mode == "starttls":
            smtp.starttls(context=context)
        if settings.inbox_relay_username:
            password = settings.inbox_relay_password
            smtp.login(
                settings.inbox_relay_username, password.get_secret_value() if password else ""
            )
        smtp.send_message(message)
