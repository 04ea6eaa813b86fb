"""Banking77 scenarios for the monitor: history, a calm pool and a new product, disjoint.

Everything comes from the train split, so the calm stream, the history and the reference are
the same kind of traffic; the new product is a set of intents withheld from all of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from agent.datasets.banking77 import labelled_records
from agent.datasets.records import LabelledTicket, shuffled
from agent.taxonomy import load_taxonomy
from tests.factories import stratified

# A bank launching virtual and disposable cards: these intents are in no history or reference.
NEW_PRODUCT = (
    "getting_virtual_card",
    "get_disposable_virtual_card",
    "disposable_card_limits",
    "virtual_card_not_working",
)


@dataclass(frozen=True)
class Pools:
    history: list[LabelledTicket]
    calm: list[LabelledTicket]
    new: list[LabelledTicket]


@lru_cache(maxsize=4)
def pools(*, history_per_queue: int, new_intents: tuple[str, ...] = NEW_PRODUCT) -> Pools:
    """The scenario's three disjoint pools (cached: treat them as read-only)."""
    records = labelled_records("train", load_taxonomy("banking77"))
    known = [r for r in records if r.intent not in new_intents]
    history = stratified(known, history_per_queue)
    in_history = {id(r) for r in history}
    calm = shuffled([r for r in known if id(r) not in in_history], seed=4)
    new = shuffled([r for r in records if r.intent in new_intents], seed=3)
    return Pools(history, calm, new)


def ticket_body(
    record: LabelledTicket, *, channel: str, received_at: datetime | None, prefix: str
) -> dict[str, Any]:
    # The ticket's identity follows the record, so the monitor's samples (keyed on it) and so
    # its thresholds are the same in every run; a record is posted once per prefix and channel.
    key = f"{prefix}-{channel}-{record.external_id or uuid.uuid5(uuid.NAMESPACE_URL, record.text)}"
    body: dict[str, Any] = {
        "source": "monitor-tests",
        "external_id": key,
        "body": record.text,
        "channel": channel,
        "customer_id": f"c-{uuid.uuid5(uuid.NAMESPACE_URL, key).int % 300}",
    }
    if received_at is not None:
        body["received_at"] = received_at.isoformat()
    return body
