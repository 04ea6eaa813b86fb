"""The inbox over real SMTP (smtplib → aiosmtpd), on the live API's database and a Redis of
its own: one ticket per Message-ID, HTML-only and non-UTF-8 mail, the size cap (552), unknown
and disabled tenants (550), the per-sender and per-client limits (451, before any storage), and
the acknowledgement with a status link that the portal serves, received by a relay sink."""

from __future__ import annotations

import re
import smtplib
import time
import uuid
from collections.abc import Iterator
from email.message import Message
from typing import Any

import httpx
import pytest

from tests.conftest import Servers
from tests.live_ui import LiveUi
from tests.review_ui.inbox.live_inbox import (
    DOMAIN,
    INBOX,
    MAX_BYTES,
    SLUG,
    InboxThread,
    RelaySink,
    email_tickets,
    inbox_settings,
    message_id_of,
    new_sender,
    plain_mail,
    set_portal_of,
)

STATUS_LINK = re.compile(r"(http://\S+/portal/\S+/status/\S+)")
PER_SENDER, PER_CLIENT, WINDOW_S = 3, 4, 86_400


@pytest.fixture(scope="module")
def inbox(live_ui: LiveUi, servers: Servers, relay: RelaySink) -> Iterator[InboxThread]:
    settings = inbox_settings(
        live_ui,
        servers,
        relay,
        inbox_max_messages_per_sender=PER_SENDER,
        inbox_max_messages_per_client=PER_CLIENT,
        inbox_window_s=WINDOW_S,
    )
    set_portal_of(live_ui, True)
    try:
        with InboxThread(settings) as running:
            yield running
    finally:
        set_portal_of(live_ui, False)


def _reference(reply: str) -> str:
    match = re.search(r"Received as (E-[0-9A-F]{10})", reply)
    assert match, reply
    return match.group(1)


def _ack_of(relay: RelaySink, reference: str) -> Message:
    return relay.sink.wait_for(lambda m: reference in str(m["Subject"]))


def _acks_to(relay: RelaySink, address: str) -> list[Message]:
    return [m for m in list(relay.sink.messages) if m["To"] == address]


def test_a_mail_sent_twice_is_one_ticket_acknowledged_once_with_a_working_status_link(
    inbox: InboxThread, relay: RelaySink, live_ui: LiveUi
) -> None:
    sender = new_sender()
    message = plain_mail(sender)
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    first = inbox.send(message.as_bytes(), sender=sender, to=INBOX)
    again = inbox.send(message.as_bytes(), sender=sender, to=INBOX)
    reference = _reference(first)
    assert _reference(again) == reference and "received before" in again
    [ticket] = email_tickets(live_ui, message_id_of(message))
    assert (ticket.channel, ticket.customer_id) == ("email", sender)
    assert ticket.subject == "Card declined" and "declined at a shop" in ticket.body
    assert ticket.metadata_["email"]["attachments"] == 1
    assert ticket.metadata_["email"]["reference"] == reference

    ack = _ack_of(relay, reference)
    assert ack["To"] == sender and ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == str(message["Message-ID"])
    text = ack.get_payload(decode=True).decode()  # type: ignore[union-attr]
    status = httpx.get(STATUS_LINK.search(text).group(1), timeout=30)  # type: ignore[union-attr]
    assert status.status_code == 200
    assert reference in status.text and "Received" in status.text
    # A later mail's acknowledgement comes after any the duplicate would have caused (acks are
    # sent in order): still one for the first mail.
    later = plain_mail(sender, subject="One more thing")
    _ack_of(relay, _reference(inbox.send(later.as_bytes(), sender=sender, to=INBOX)))
    assert len([m for m in _acks_to(relay, sender) if reference in str(m["Subject"])]) == 1


def test_html_only_mail_becomes_text(inbox: InboxThread, live_ui: LiveUi) -> None:
    sender = new_sender()
    message = plain_mail(sender)
    message.set_content(
        "<html><body><p>My <b>card</b> was declined.</p><script>x()</script></body></html>",
        subtype="html",
    )
    inbox.send(message.as_bytes(), sender=sender, to=INBOX)
    [ticket] = email_tickets(live_ui, message_id_of(message))
    assert ticket.body == "My card was declined."
    assert ticket.metadata_["email"]["html_only"] is True


@pytest.mark.parametrize("charset", ["iso-8859-1", "windows-1252"])
def test_a_non_utf8_mail_is_decoded(inbox: InboxThread, live_ui: LiveUi, charset: str) -> None:
    sender = new_sender()
    message_id = f"{uuid.uuid4().hex}@customers.example"
    text = (
        "Ma carte est bloquée à l'étranger, frais de 5 € ?"
        if charset != "iso-8859-1"
        else ("Ma carte est bloquée à l'étranger.")
    )
    raw = (
        (
            f"From: {sender}\r\nTo: {INBOX}\r\nMessage-ID: <{message_id}>\r\n"
            f"Subject: =?{charset}?q?Carte_bloqu=E9e?=\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset={charset}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode("ascii")
        + text.encode(charset)
        + b"\r\n"
    )
    inbox.send(raw, sender=sender, to=INBOX)
    [ticket] = email_tickets(live_ui, message_id)
    assert (ticket.subject, ticket.body) == ("Carte bloquée", text)


def test_an_oversized_mail_is_refused_with_552_and_stored_nowhere(
    inbox: InboxThread, live_ui: LiveUi
) -> None:
    sender = new_sender()
    message = plain_mail(sender, text="x" * 70 + ("\n" + "y" * 70) * (MAX_BYTES // 70))
    with inbox.client() as smtp:  # no SIZE announced: refused after the data
        smtp.ehlo("tests.example")
        smtp.mail(sender)
        smtp.rcpt(INBOX)
        code, reply = smtp.data(message.as_bytes())
    assert code == 552
    assert reply.decode() == "5.3.4 Message too big for this inbox: at most 65,536 bytes"
    with inbox.client() as smtp, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.sendmail(sender, [INBOX], message.as_bytes())  # SIZE announced: refused at once
    assert refused.value.smtp_code == 552 and b"at most 65,536 bytes" in refused.value.smtp_error
    assert email_tickets(live_ui, message_id_of(message)) == []


@pytest.mark.parametrize("to", [f"no-such-tenant@{DOMAIN}", f"{SLUG}@elsewhere.example"])
def test_mail_to_an_unknown_tenant_or_domain_is_refused_with_550(
    inbox: InboxThread, to: str
) -> None:
    sender = new_sender()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        inbox.send(plain_mail(sender).as_bytes(), sender=sender, to=to)
    code, reply = refused.value.recipients[to]
    assert code == 550 and b"no such inbox here" in reply


def test_a_disabled_tenant_takes_noplain_mail(inbox: InboxThread, live_ui: LiveUi) -> None:
    sender = new_sender()
    set_portal_of(live_ui, False)
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            inbox.send(plain_mail(sender).as_bytes(), sender=sender, to=INBOX)
    finally:
        set_portal_of(live_ui, True)


def test_one_message_takes_at_most_ten_recipients(inbox: InboxThread) -> None:
    with inbox.client() as smtp:
        smtp.ehlo("tests.example")
        smtp.mail(new_sender())
        assert [smtp.rcpt(INBOX)[0] for _ in range(10)] == [250] * 10
        code, reply = smtp.rcpt(INBOX)
        smtp.rset()
    assert code == 452 and b"Too many recipients" in reply


def test_a_bounce_is_not_a_ticket(inbox: InboxThread) -> None:
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        inbox.send(plain_mail("x@y.example").as_bytes(), sender="", to=INBOX)
    assert refused.value.smtp_code == 550


def test_an_auto_reply_is_a_ticket_but_never_acknowledged(
    inbox: InboxThread, relay: RelaySink, live_ui: LiveUi
) -> None:
    sender = new_sender()
    auto = plain_mail(sender, subject="Out of office")
    auto["Auto-Submitted"] = "auto-replied"
    reference = _reference(inbox.send(auto.as_bytes(), sender=sender, to=INBOX))
    assert len(email_tickets(live_ui, message_id_of(auto))) == 1
    after = plain_mail(sender)
    _ack_of(relay, _reference(inbox.send(after.as_bytes(), sender=sender, to=INBOX)))
    assert not any(reference in str(m["Subject"]) for m in _acks_to(relay, sender))


def _window() -> int:
    return int(time.time() // WINDOW_S)


def _retrying_on_rollover(body: Any) -> None:
    """A fixed window that rolls over mid-test resets the counts: try once more."""
    window = _window()
    try:
        body()
    except AssertionError:
        if _window() == window:
            raise
        body()


def test_a_flooding_sender_gets_451_and_never_reaches_the_router(
    inbox: InboxThread, live_ui: LiveUi
) -> None:
    def body() -> None:
        sender = new_sender()
        for _ in range(PER_SENDER):
            inbox.send(plain_mail(sender).as_bytes(), sender=sender, to=INBOX)
        over = plain_mail(sender)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            inbox.send(over.as_bytes(), sender=sender, to=INBOX)
        assert refused.value.smtp_code == 451
        assert b"Too many messages from this sender" in refused.value.smtp_error
        assert email_tickets(live_ui, message_id_of(over)) == []

    _retrying_on_rollover(body)


def test_a_flooding_client_address_gets_451(inbox: InboxThread, live_ui: LiveUi) -> None:
    def body() -> None:
        source = "127.9.0.1"  # this test's alone (and the inbox's Redis starts empty)
        for _ in range(PER_CLIENT):
            sender = new_sender()
            inbox.send(plain_mail(sender).as_bytes(), sender=sender, to=INBOX, source=source)
        sender = new_sender()
        over = plain_mail(sender)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            inbox.send(over.as_bytes(), sender=sender, to=INBOX, source=source)
        assert refused.value.smtp_code == 451
        assert b"from your address" in refused.value.smtp_error
        assert email_tickets(live_ui, message_id_of(over)) == []

    _retrying_on_rollover(body)
