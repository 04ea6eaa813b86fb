"""A running inbox for tests: ``run_inbox`` in a thread of its own on a free port, beside the
live API/UI (whose portal serves the status links), and an SMTP sink standing in for the relay
that the acknowledgements go through."""

from __future__ import annotations

import asyncio
import email
import imaplib
import itertools
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import redis
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from sqlalchemy import select

from agent.config import Settings
from agent.models import Ticket
from agent.services.operators import Actor
from agent.services.portal import set_portal
from review_ui.inbox.server import InboxOptions, run_inbox
from tests.asyncdb import session_for
from tests.conftest import Servers, _redis_dbs, with_redis_db
from tests.live import free_port
from tests.live_ui import LiveUi

DOMAIN = "inbox.test"
SLUG = "ui-tests"  # the live UI's tenant
INBOX = f"{SLUG}@{DOMAIN}"
MAX_BYTES = 64 * 1024
# Every connection comes from a loopback address of its own, so the per-client limit counts
# only what a test means it to.
_sources = (f"127.0.{i // 250 + 1}.{i % 250 + 1}" for i in itertools.count())


@dataclass
class Sink:
    """The relay: keeps every message it is given."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"

    def wait_for(self, predicate: Callable[[Message], bool], timeout_s: float = 60) -> Message:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [m for m in list(self.messages) if predicate(m)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError("no such message reached the relay")


class RelaySink:
    def __init__(self) -> None:
        self.sink = Sink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> RelaySink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class InboxThread:
    """``ticketwatch inbox`` in a background thread, serving until the test ends."""

    def __init__(
        self, settings: Settings, *, imap_url: str | None = None, slug: str | None = None
    ) -> None:
        self.settings = settings
        self.imap_url, self.slug = imap_url, slug
        self.port = free_port()
        self.options: InboxOptions | None = None
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced by __enter__
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self.options = InboxOptions(
            host="127.0.0.1", port=self.port, imap_url=self.imap_url, imap_slug=self.slug
        )
        task = asyncio.create_task(run_inbox(self.settings, self.options))
        ready = asyncio.create_task(self.options.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        self._ready.set()
        await task

    def __enter__(self) -> InboxThread:
        self.thread.start()
        if not self._ready.wait(180) or self._error is not None:
            raise RuntimeError(f"the inbox did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.options is not None:
            self.loop.call_soon_threadsafe(self.options.stop.set)
        self.thread.join(timeout=60)

    def client(self, source: str | None = None) -> smtplib.SMTP:
        """An SMTP connection to the inbox from a fresh loopback address."""
        return smtplib.SMTP(
            "127.0.0.1", self.port, timeout=60, source_address=(source or next(_sources), 0)
        )

    def send(self, raw: bytes, *, sender: str, to: str, source: str | None = None) -> str:
        """Send one message; the inbox's final reply text (an error raises)."""
        with self.client(source) as smtp:
            smtp.ehlo("tests.example")
            code, reply = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            code, reply = smtp.rcpt(to)
            if code != 250:
                raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
            code, reply = smtp.data(raw)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
            return reply.decode()


class ImapServer:
    """pymap's in-memory IMAP server (its ``dict`` backend) as a real process on a free port."""

    USER, PASSWORD = "demouser", "demopass"

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ImapServer:
        pymap = Path(sys.executable).parent / "pymap"
        self.proc = subprocess.Popen(
            [str(pymap), "--host", "127.0.0.1", "--port", str(self.port), "--no-tls"]
            + ["--no-service", "admin", "dict"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client().logout()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the IMAP server did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    @property
    def url(self) -> str:
        return f"imap://{self.USER}:{self.PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        client.login(self.USER, self.PASSWORD)
        client.select("INBOX")
        return client

    def append(self, raw: bytes) -> None:
        client = self.client()
        try:
            client.append("INBOX", None, None, raw)
        finally:
            client.logout()

    def search(self, *criteria: str) -> list[str]:
        client = self.client()
        try:
            typ, data = client.uid("SEARCH", *criteria)
            return data[0].decode().split() if typ == "OK" and data[0] else []
        finally:
            client.logout()


def inbox_settings(ui: LiveUi, servers: Servers, relay: RelaySink, **extra: object) -> Settings:
    """The live UI's settings for an inbox with a Redis database of its own (so its limits
    count this module's mail only), acknowledging through ``relay``."""
    redis_url = with_redis_db(servers.redis_url, next(_redis_dbs))
    redis.Redis.from_url(redis_url).flushdb()
    update: dict[str, object] = {
        "redis_url": SecretStr(redis_url),
        "public_url": ui.url,
        "inbox_domain": DOMAIN,
        "inbox_max_message_bytes": MAX_BYTES,
        "inbox_relay_host": "127.0.0.1",
        "inbox_relay_port": relay.port,
        "inbox_relay_tls": "none",
        **extra,
    }
    return ui.settings.model_copy(update=update)


def set_portal_of(ui: LiveUi, enabled: bool) -> None:
    async def body() -> None:
        async with session_for(ui.database_url) as session:
            await set_portal(
                session, name=SLUG, enabled=enabled, actor=Actor("tests", "operator"), slug=SLUG
            )

    asyncio.run(body())


def new_sender() -> str:
    return f"person-{uuid.uuid4().hex[:10]}@customers.example"


def plain_mail(
    sender: str, *, subject: str = "Card declined", text: str | None = None
) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)  # CRLF line ends, as on the wire
    message["From"] = f"Dana Reyes <{sender}>"
    message["To"] = INBOX
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@customers.example>"
    message.set_content(text or "My card was declined at a shop twice today.")
    return message


def message_id_of(message: EmailMessage) -> str:
    return str(message["Message-ID"]).strip("<>")


def email_tickets(ui: LiveUi, message_id: str) -> list[Ticket]:
    async def body() -> list[Ticket]:
        async with session_for(ui.database_url) as session:
            stmt = select(Ticket).where(Ticket.source == "email", Ticket.external_id == message_id)
            return list((await session.execute(stmt)).scalars())

    return asyncio.run(body())
