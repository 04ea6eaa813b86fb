"""Acknowledgements: what they say and how they are marked, sent in order through a real SMTP
relay (an aiosmtpd sink), and a failure logged without the relay's credentials."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest

from agent.config import Settings
from review_ui.inbox.acks import Acknowledgement, AckSender, compose
from review_ui.inbox.mail import InboundMail
from review_ui.services.portal import Received
from tests.review_ui.inbox.live_inbox import RelaySink

PASSWORD = "relay-password-" + uuid.uuid4().hex


def _ack(reference: str, *, first_response: str | None = "4 business hours") -> Acknowledgement:
    mail = InboundMail(
        external_id="abc@customers.example",
        sender="dana@customers.example",
        return_path="dana@customers.example",
        sender_name="Dana",
        subject="Card declined",
        body="text",
        attachments=0,
        html_only=False,
        truncated=False,
        automatic=False,
    )
    received = Received(reference, uuid.uuid4(), first_response, None)
    return Acknowledgement(
        to="dana@customers.example",
        inbox_address="acme@inbox.test",
        tenant_name="Acme Bank",
        mail=mail,
        received=received,
        status_url="https://support.example/portal/acme/status/TOKEN",
    )


def _settings(tmp_path: Path, relay: RelaySink, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path,
        embedded_autostart=False,
        inbox_relay_host="127.0.0.1",
        inbox_relay_port=relay.port,
        inbox_relay_tls="none",
        **extra,  # type: ignore[arg-type]
    )


def test_an_acknowledgement_names_the_reference_target_and_link_and_is_an_auto_reply() -> None:
    message = compose(_ack("E-0123456789"), from_address=None)
    assert message["From"] == "Acme Bank <acme@inbox.test>"
    assert message["Subject"] == "[E-0123456789] We received: Card declined"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == "<abc@customers.example>"
    text = message.get_content()
    assert "Your reference: E-0123456789" in text
    assert "within 4 business hours" in text
    assert "https://support.example/portal/acme/status/TOKEN" in text
    untriaged = compose(_ack("E-1", first_response=None), from_address="help@acme.example")
    assert "set its priority" in untriaged.get_content()
    assert untriaged["From"] == "Acme Bank <help@acme.example>"


def test_acknowledgements_reach_the_relay_in_order(tmp_path: Path, relay: RelaySink) -> None:
    references = [f"E-{i:010d}" for i in range(5)]

    async def body() -> None:
        sender = AckSender(_settings(tmp_path, relay))
        for reference in references:
            sender.send_later(_ack(reference))
        await sender.aclose()

    asyncio.run(body())
    subjects = [str(m["Subject"]) for m in relay.sink.messages]
    assert [s for s in subjects if any(r in s for r in references)] == [
        f"[{r}] We received: Card declined" for r in references
    ]


def test_a_failed_acknowledgement_is_logged_without_the_relays_credentials(
    tmp_path: Path, relay: RelaySink, caplog: pytest.LogCaptureFixture
) -> None:
    # The sink offers no AUTH over plain SMTP, so the login fails after the password was set.
    settings = _settings(
        tmp_path, relay, inbox_relay_username="ack-sender", inbox_relay_password=PASSWORD
    )
    before = len(relay.sink.messages)

    async def body() -> None:
        sender = AckSender(settings)
        sender.send_later(_ack("E-FAILED0001"))
        await sender.aclose()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(body())
    assert (
        "acknowledgement E-FAILED0001 to dana@customers.example not sent: SMTPNotSupportedError"
        in caplog.text
    )
    assert PASSWORD not in caplog.text and "ack-sender" not in caplog.text
    assert len(relay.sink.messages) == before
