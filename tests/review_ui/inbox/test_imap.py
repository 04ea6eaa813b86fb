"""``ticketwatch inbox --imap``: the poller against a real IMAP server (pymap's in-memory
backend, run as a process), through ``run_inbox`` as the command runs it. Delivered mail is one
ticket per Message-ID and marked seen; oversized, empty and rate-limited mail is marked seen and
flagged refused, never stored; mail for a tenant that takes none waits unseen until it does."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import REGISTRY

from review_ui.inbox.imap import parse_imap_url
from tests.conftest import Servers
from tests.live_ui import LiveUi
from tests.review_ui.inbox.live_inbox import (
    INBOX,
    MAX_BYTES,
    SLUG,
    ImapServer,
    InboxThread,
    RelaySink,
    email_tickets,
    inbox_settings,
    message_id_of,
    new_sender,
    plain_mail,
    set_portal_of,
)

pytestmark = pytest.mark.slow  # starts an IMAP server process

PER_SENDER = 2


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapServer]:
    with ImapServer() as server:
        yield server


@pytest.fixture(scope="module")
def poller(
    live_ui: LiveUi, servers: Servers, relay: RelaySink, imap: ImapServer
) -> Iterator[InboxThread]:
    settings = inbox_settings(
        live_ui,
        servers,
        relay,
        inbox_imap_poll_s=0.2,
        inbox_max_messages_per_sender=PER_SENDER,
        inbox_window_s=86_400,
    )
    set_portal_of(live_ui, True)
    try:
        with InboxThread(settings, imap_url=imap.url, slug=SLUG) as running:
            yield running
    finally:
        set_portal_of(live_ui, False)


def _closed_count() -> float:
    value = REGISTRY.get_sample_value(
        "ticketwatch_inbox_messages_total", {"outcome": "tenant_closed"}
    )
    return value or 0.0


def _eventually(check: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the poller did not get there"
        time.sleep(0.1)


def test_polled_mail_becomes_one_ticket_per_message_id_and_refusals_are_flagged(
    poller: InboxThread, imap: ImapServer, relay: RelaySink, live_ui: LiveUi
) -> None:
    sender = new_sender()
    mail = plain_mail(sender)
    big = plain_mail(new_sender(), text=("y" * 70 + "\n") * (MAX_BYTES // 70 + 1))
    empty = plain_mail(new_sender(), subject="", text=" ")
    for message in (mail, mail, big, empty):  # the first one twice: a re-delivered copy
        imap.append(message.as_bytes())
    _eventually(lambda: imap.search("UNSEEN") == [])
    [ticket] = email_tickets(live_ui, message_id_of(mail))
    assert ticket.channel == "email" and ticket.customer_id == sender
    assert email_tickets(live_ui, message_id_of(big)) == []
    assert email_tickets(live_ui, message_id_of(empty)) == []
    assert len(imap.search("FLAGGED")) == 2
    reference = ticket.metadata_["email"]["reference"]
    ack = relay.sink.wait_for(lambda m: reference in str(m["Subject"]))
    assert ack["To"] == sender and INBOX in str(ack["From"])  # the tenant's address


def test_a_flooding_sender_is_refused_after_its_limit(
    poller: InboxThread, imap: ImapServer, live_ui: LiveUi
) -> None:
    sender = new_sender()
    flagged_before = len(imap.search("FLAGGED"))
    mails = [plain_mail(sender, subject=f"Mail {i}") for i in range(PER_SENDER + 1)]
    for message in mails:
        imap.append(message.as_bytes())
    _eventually(lambda: imap.search("UNSEEN") == [])
    stored = [len(email_tickets(live_ui, message_id_of(m))) for m in mails]
    assert stored == [1] * PER_SENDER + [0]  # oldest first
    assert len(imap.search("FLAGGED")) == flagged_before + 1


def test_mail_waits_unseen_while_the_tenant_takes_none(
    poller: InboxThread, imap: ImapServer, live_ui: LiveUi
) -> None:
    set_portal_of(live_ui, False)
    mail = plain_mail(new_sender())
    try:
        before = _closed_count()
        imap.append(mail.as_bytes())
        # Three polls that found the mail and the tenant closed: it stays unseen and unstored.
        # (Counted on the metric, not in the log: a test that configures logging with
        # disable_existing_loggers, as alembic's fileConfig does, silences the poller's logger.)
        _eventually(lambda: _closed_count() >= before + 3)
        assert len(imap.search("UNSEEN")) == 1
        assert email_tickets(live_ui, message_id_of(mail)) == []
    finally:
        set_portal_of(live_ui, True)
    _eventually(lambda: imap.search("UNSEEN") == [])
    assert len(email_tickets(live_ui, message_id_of(mail))) == 1


def test_imap_urls_are_read_and_never_show_the_password() -> None:
    box = parse_imap_url("imaps://team%40acme.example:s3cret@mail.acme.example/Support")
    assert (box.host, box.port, box.tls, box.username, box.mailbox) == (
        "mail.acme.example",
        993,
        True,
        "team@acme.example",
        "Support",
    )
    assert "s3cret" not in repr(box)
    assert parse_imap_url("imap://u@h", password="p").password == "p"
    with pytest.raises(ValueError, match="no IMAP password"):
        parse_imap_url("imap://u@h")
    with pytest.raises(ValueError, match="must look like"):
        parse_imap_url("https://u:p@h")
