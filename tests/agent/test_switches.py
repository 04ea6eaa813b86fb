"""The kill-switch module: its key grammar agrees with the segments routing matches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent import switches
from agent.graph.state import TicketInput

TICKET = TicketInput(
    ticket_id="00000000-0000-0000-0000-000000000001",
    text="x",
    channel="email",
    source="zendesk",
    customer_id=None,
    tenant_id="acme-1",
    received_at=datetime(2026, 1, 1, tzinfo=UTC),
)


def test_every_segment_routing_matches_is_a_valid_switch_key():
    """A segment routing checks but operators cannot switch would be a switch that never trips."""
    segments = switches.intake_segments(TICKET) + switches.predicted_segments("cards", "P1")
    assert {s.split(":")[0] for s in segments} == set(switches.SEGMENT_KINDS)
    assert all(switches.is_key(s) for s in segments)
    assert switches.is_key(switches.GLOBAL_SWITCH)


@pytest.mark.parametrize(
    "key", ["", "global:x", "channel:", "model:gpt", "queue:a b", "channel:" + "x" * 101, "Global"]
)
def test_malformed_keys_are_rejected(key: str):
    assert not switches.is_key(key)


def test_intake_and_prediction_trip_their_own_kinds_and_global_beats_both():
    enabled = frozenset({"queue:cards", "tenant:acme-1"})
    assert switches.tripped_at_intake(enabled, TICKET) == "tenant:acme-1"
    assert switches.tripped_by_prediction(enabled, queue="cards", priority="P2") == "queue:cards"
    assert switches.tripped_by_prediction(enabled, queue="loans", priority="P2") is None
    with_global = enabled | {switches.GLOBAL_SWITCH}
    assert switches.tripped_at_intake(with_global, TICKET) == "global"
    assert switches.tripped_by_prediction(with_global, queue="cards", priority=None) == "global"
