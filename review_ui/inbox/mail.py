"""An inbound mail as a ticket sees it: pure functions from the raw message (RFC 5322 bytes)
to its identity, sender, subject and plain text. No network, no database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from review_ui.inbox.html_text import html_to_text

MAX_EXTERNAL_ID = 200  # tickets.external_id
MAX_SUBJECT = 1_000  # the API's subject cap
MAX_BODY = 20_000  # the API's body cap
AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})


@dataclass(frozen=True)
class InboundMail:
    """``external_id``: the Message-ID (or a digest where there is none); ``automatic``: an
    auto-reply, a list or bulk mail, which is never answered (RFC 3834)."""

    external_id: str
    sender: str
    return_path: str
    sender_name: str
    subject: str
    body: str
    attachments: int
    html_only: bool
    truncated: bool
    automatic: bool


def read_mail(raw: bytes) -> InboundMail:
    """Parse ``raw``; charsets are decoded (an unknown one as UTF-8, else Windows-1252)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(_header(message, "from"))
    text, html_only = _body_text(message)
    subject = _header(message, "subject").strip()
    return InboundMail(
        external_id=external_id(_header(message, "message-id"), raw),
        sender=address.strip().lower(),
        return_path=parseaddr(_header(message, "return-path"))[1].strip().lower(),
        sender_name=name.strip(),
        subject=subject[:MAX_SUBJECT],
        body=text[:MAX_BODY],
        attachments=count_attachments(message),
        html_only=html_only,
        truncated=len(text) > MAX_BODY or len(subject) > MAX_SUBJECT,
        automatic=is_automatic(message),
    )


def external_id(message_id: str, raw: bytes) -> str:
    """The Message-ID without its angle brackets; a digest of it when it is too long for the
    column, or of the whole message when it has none (so a re-delivery is still one ticket)."""
    value = message_id.strip().strip("<>").strip()
    if not value:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(value) > MAX_EXTERNAL_ID:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


def is_automatic(message: Message) -> bool:
    auto = _header(message, "auto-submitted").strip().lower()
    precedence = _header(message, "precedence").strip().lower()
    return (auto not in ("", "no")) or precedence in AUTOMATIC_PRECEDENCE or "list-id" in message


def count_attachments(message: Message) -> int:
    return sum(
        1
        for part in message.walk()
        if not part.is_multipart()
        and (part.get_content_disposition() == "attachment" or part.get_filename())
    )


def recipients(message: Message) -> list[str]:
    """The To and Cc addresses (for the IMAP poller, which has no envelope)."""
    values = [_header(message, "to"), _header(message, "cc")]
    return [addr.lower() for _, addr in getaddresses(values) if addr]


def _body_text(message: EmailMessage) -> tuple[str, bool]:
    """The plain-text body, or the HTML body as text; (text, True) when there was only HTML."""
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None and plain.get_filename() is None:
        return _clean(_decoded(plain)).strip(), False
    html = message.get_body(preferencelist=("html",))
    if html is not None and html.get_filename() is None:
        return _clean(html_to_text(_decoded(html))), True
    return "", False


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(payload or "")
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("cp1252", errors="replace")


def _header(message: Message, name: str) -> str:
    """The decoded header; raw 8-bit bytes in it (against RFC 5322, but sent) are read from
    the source line, where the parsed value has lost them."""
    raw = next((v for k, v in message.raw_items() if k.lower() == name), None)
    if raw is None:
        return ""
    try:
        value = str(message.get(name))
    except Exception:  # the stdlib's header parser fails on some malformed values (`<>`)
        return _clean(" ".join(str(raw).split()))
    if isinstance(raw, str) and _has_escapes(raw):
        return _clean(" ".join(raw.split()))
    return _clean(value)


def _has_escapes(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def _clean(text: str) -> str:
    """No NUL (Postgres refuses it) and no undecodable bytes: raw 8-bit header bytes arrive as
    surrogate escapes, and are read as UTF-8, else as Windows-1252."""
    if _has_escapes(text):
        raw = text.encode("utf-8", "surrogateescape")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
    return text.replace("\x00", "")
