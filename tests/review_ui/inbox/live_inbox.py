"""A running inbox for tests: ``run_inbox`` in a thread of its own on a free port, beside the
live API/UI (whose portal serves the status links), and an SMTP sink standing in for the relay
that the acknowledgements go through."""

from __future__ import annotations

import asyncio
import email
import itertools
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from agent.config import Settings
from review_ui.inbox.server import InboxOptions, run_inbox
from tests.live import free_port

DOMAIN = "inbox.test"
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

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
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
        self.options = InboxOptions(host="127.0.0.1", port=self.port)
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
