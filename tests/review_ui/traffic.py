"""Realistic traffic for UI tests: real customer messages through the real API."""

from __future__ import annotations

import uuid

from agent.datasets.banking77 import labelled_records
from agent.taxonomy import load_taxonomy
from tests.live_ui import LiveUi


def post_realistic_traffic(live_ui: LiveUi, count: int, *, offset: int = 0) -> None:
    """Real customer messages (Banking77's test split) through the API, so the queue fills."""
    records = labelled_records("test", load_taxonomy("banking77"))[offset::61][:count]
    channels = ["email", "chat", "web"]
    with live_ui.api() as api:
        for i, rec in enumerate(records):
            words = rec.text.split()
            api.post(
                "/v1/tickets",
                json={
                    "source": "helpdesk",
                    "external_id": uuid.uuid4().hex,
                    "body": rec.text,
                    "subject": " ".join(words[:6]).rstrip("?.!,") if i % 3 else "",
                    "channel": channels[i % 3],
                    "customer_id": f"c-{i % 17}",
                },
            ).raise_for_status()
