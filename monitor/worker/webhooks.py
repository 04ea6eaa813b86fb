"""Alert webhooks: a signed JSON POST, every attempt recorded in ``alert_deliveries``.

The signature header is ``X-Ticketwatch-Signature: sha256=<hex>``, the HMAC-SHA256 of
``<X-Ticketwatch-Timestamp>.<body>`` under ``monitor_webhook_secret``: a receiver recomputes it
and rejects stale timestamps (replays). Any 2xx answer is a delivery; anything else (or no
answer) is retried with exponential backoff by the ``monitor.deliver_webhook`` task. Delivery
is at least once: ``delivery_id`` is stable per event, for receivers to drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session

from agent.config import Settings
from monitor.services import deliveries
from monitor.services.alert_lifecycle import delivery_id, webhook_payload

SIGNATURE_HEADER = "X-Ticketwatch-Signature"
TIMESTAMP_HEADER = "X-Ticketwatch-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for a body sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is this body's (for receivers and tests)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class Message:
    url: str
    body: bytes
    headers: dict[str, str]
    delivery_id: str


def message(session: Session, *, settings: Settings, alert_id: uuid.UUID, event: str) -> Message:
    """The signed request for an alert event (the alert as it stands now)."""
    alert = deliveries.alert_to_send(session, alert_id=alert_id)
    assert settings.monitor_webhook_url is not None
    body = json.dumps(webhook_payload(alert, event), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ticketwatch-monitor",
        "X-Ticketwatch-Event": f"alert.{event}",
        "X-Ticketwatch-Delivery": delivery_id(alert, event),
        TIMESTAMP_HEADER: timestamp,
    }
    if settings.monitor_webhook_secret is not None:
        secret = settings.monitor_webhook_secret.get_secret_value()
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    return Message(settings.monitor_webhook_url, body, headers, delivery_id(alert, event))


def post(msg: Message, *, timeout_s: float) -> Attempt:
    """One attempt: POST the message."""
    try:
        response = httpx.post(msg.url, content=msg.body, headers=msg.headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return Attempt(False, None, f"{type(exc).__name__}: {exc}"[:500])
    ok = 200 <= response.status_code < 300
    return Attempt(ok, response.status_code, None if ok else response.text[:500])


def record(
    session: Session,
    *,
    alert_id: uuid.UUID,
    event: str,
    msg: Message,
    attempt: Attempt,
    number: int,
) -> None:
    deliveries.record_attempt(
        session,
        alert_id=alert_id,
        event=event,
        delivery_id=msg.delivery_id,
        url=msg.url,
        attempt=number,
        status_code=attempt.status_code,
        error=attempt.error,
        delivered=attempt.delivered,
    )


def backoff_s(settings: Settings, attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: the base, doubled after each failure."""
    return float(settings.monitor_webhook_backoff_s * 2 ** (attempt - 1))
