"""``ticketwatch inbox --imap URL``: poll a tenant's existing mailbox instead of receiving mail.

Each poll takes the mailbox's unseen messages, oldest first, through the same conversion and
guards as the SMTP server (size cap, per-sender limit, the tenant's rate) and
:meth:`MailIntake.deliver`. A delivered or refused message is marked ``\\Seen``; a refused one
is also ``\\Flagged`` (and gets the keyword ``$TicketwatchRefused`` where the server keeps
keywords), so people can find it. A message that could not be stored, that meets the tenant's
rate, or that arrives while the tenant takes no mail (its portal off) stays unseen and is tried
again at the next poll. The Message-ID keeps a message that is tried twice one ticket.
"""

from __future__ import annotations

import asyncio
import enum
import imaplib
import logging
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from agent.metrics import INBOX_MESSAGES
from review_ui.inbox.intake import MailIntake
from review_ui.inbox.mail import read_mail

log = logging.getLogger(__name__)

REFUSED_KEYWORD = "$TicketwatchRefused"


@dataclass(frozen=True)
class ImapMailbox:
    host: str
    port: int
    tls: bool
    username: str
    password: str
    mailbox: str

    def __repr__(self) -> str:  # never the password
        scheme = "imaps" if self.tls else "imap"
        return f"ImapMailbox({scheme}://{self.username}@{self.host}:{self.port}/{self.mailbox})"


def parse_imap_url(url: str, *, password: str | None = None) -> ImapMailbox:
    """``imaps://user[:password]@host[:port][/mailbox]`` (``imap://`` without TLS); the
    password may come from settings instead of the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ValueError("the IMAP URL must look like imaps://user@host:993/INBOX")
    tls = parts.scheme == "imaps"
    secret = unquote(parts.password) if parts.password else password
    if not secret:
        raise ValueError("no IMAP password: put it in the URL or TICKETWATCH_INBOX_IMAP_PASSWORD")
    return ImapMailbox(
        host=parts.hostname,
        port=parts.port or (993 if tls else 143),
        tls=tls,
        username=unquote(parts.username),
        password=secret,
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
    )


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    REFUSED = "refused"
    LATER = "later"


class ImapPoller:
    def __init__(self, intake: MailIntake, mailbox: ImapMailbox, *, slug: str) -> None:
        self.intake = intake
        self.mailbox = mailbox
        self.slug = slug
        # Where the mail was written to, as acknowledgements say (inbox_ack_from wins there).
        if "@" in mailbox.username:
            self.address = mailbox.username
        elif intake.domain:
            self.address = f"{slug}@{intake.domain}"
        else:
            self.address = f"no-reply@{mailbox.host}"

    async def run(self, *, poll_s: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.poll_once()
            except (OSError, imaplib.IMAP4.error) as exc:
                log.warning("inbox: polling %r failed: %s", self.mailbox, type(exc).__name__)
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll_s)
            except TimeoutError:
                pass

    async def poll_once(self) -> dict[Verdict, int]:
        """One pass over the unseen messages; how many ended each way."""
        counts = dict.fromkeys(Verdict, 0)
        client = await asyncio.to_thread(self._connect)
        try:
            for uid in await asyncio.to_thread(self._unseen, client):
                raw = await asyncio.to_thread(self._fetch, client, uid)
                verdict = await self.take(raw)
                counts[verdict] += 1
                if verdict is Verdict.LATER:
                    break  # the rest waits for the next poll, in order
                await asyncio.to_thread(self._mark, client, uid, verdict is Verdict.REFUSED)
        finally:
            await asyncio.to_thread(_logout, client)
        return counts

    async def take(self, raw: bytes) -> Verdict:
        """One message through the inbox's guards and into a ticket."""
        tenant = await self.intake.tenant(self.slug)
        if tenant is None:
            log.warning("inbox: tenant %r takes no mail (its portal is off)", self.slug)
            INBOX_MESSAGES.labels("tenant_closed").inc()
            return Verdict.LATER
        if len(raw) > self.intake.runtime.settings.inbox_max_message_bytes:
            INBOX_MESSAGES.labels("too_big").inc()
            return Verdict.REFUSED
        mail = read_mail(raw)
        sender = mail.return_path or mail.sender
        if not sender or (not mail.subject and not mail.body):
            INBOX_MESSAGES.labels("empty").inc()
            return Verdict.REFUSED
        if await self.intake.over_limit(sender=sender, client=None) is not None:
            INBOX_MESSAGES.labels("rate_limited").inc()
            return Verdict.REFUSED
        if await self.intake.tenant_over_limit(tenant):
            INBOX_MESSAGES.labels("rate_limited").inc()
            return Verdict.LATER
        try:
            await self.intake.deliver(
                mail, tenant=tenant, reply_to=sender, inbox_address=self.address
            )
        except Exception:
            log.exception("inbox: a mail could not be stored; it stays unseen")
            INBOX_MESSAGES.labels("failed").inc()
            return Verdict.LATER
        return Verdict.DELIVERED

    def _connect(self) -> imaplib.IMAP4:
        box = self.mailbox
        client = (
            imaplib.IMAP4_SSL(box.host, box.port, timeout=30)
            if box.tls
            else imaplib.IMAP4(box.host, box.port, timeout=30)
        )
        client.login(box.username, box.password)
        typ, _ = client.select(_quoted(box.mailbox))
        if typ != "OK":
            raise imaplib.IMAP4.error(f"no mailbox {box.mailbox!r}")
        return client

    @staticmethod
    def _unseen(client: imaplib.IMAP4) -> list[str]:
        typ, data = client.uid("SEARCH", "UNSEEN")
        found = data[0] if typ == "OK" and data else None
        return found.decode().split() if isinstance(found, bytes) else []

    @staticmethod
    def _fetch(client: imaplib.IMAP4, uid: str) -> bytes:
        typ, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        raise imaplib.IMAP4.error(f"no body for message {uid!r}")

    @staticmethod
    def _mark(client: imaplib.IMAP4, uid: str, refused: bool) -> None:
        client.uid("STORE", uid, "+FLAGS", "(\\Seen \\Flagged)" if refused else "(\\Seen)")
        if refused:  # a server without keywords may refuse this one; the flags above stand
            try:
                client.uid("STORE", uid, "+FLAGS", f"({REFUSED_KEYWORD})")
            except imaplib.IMAP4.error:
                pass


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _logout(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):
        pass
