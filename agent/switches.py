"""Kill switches: the key grammar, which switch a ticket trips, and how the enabled set is read.

A switch key is ``global`` or ``<kind>:<value>``. *Intake* kinds (channel, source, tenant) are
known when a ticket arrives: a switch on one of them routes the ticket to human triage before
any model call (the guard step). *Predicted* kinds (queue, priority) are known once the
classifier has answered: the decide step applies them. ``global`` beats every segment. The
same ``kind:value`` keys name the segments of boosted review.

Reading: the enabled keys are cached per process by the control plane
(:class:`agent.services.control.ControlPlane`, behind :class:`SwitchBoard`), together with the
version labels and review boosts, under one Redis epoch: one key read per ticket tells whether
any of them changed. Writing: :func:`agent.services.operators.set_kill_switch` (audited), which
checks keys with :func:`is_key`. Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from agent.graph.state import TicketInput

GLOBAL_SWITCH = "global"
INTAKE_KINDS = ("channel", "source", "tenant")
PREDICTED_KINDS = ("queue", "priority")
SEGMENT_KINDS = INTAKE_KINDS + PREDICTED_KINDS
_KEY = re.compile(rf"^({GLOBAL_SWITCH}|({'|'.join(SEGMENT_KINDS)}):[A-Za-z0-9_.\-]{{1,100}})$")


class SwitchBoard(Protocol):
    async def enabled(self) -> frozenset[str]:
        """Keys of the kill switches that are on (``global``, ``channel:email``, ...)."""
        ...


def is_key(key: str) -> bool:
    """Whether ``key`` is ``global`` or ``<segment kind>:<value>`` (letters, digits, ``_.-``)."""
    return _KEY.match(key) is not None


def intake_segments(ticket: TicketInput) -> list[str]:
    """Segments known before classification."""
    segs = [f"channel:{ticket.channel}", f"source:{ticket.source}"]
    if ticket.tenant_id:
        segs.append(f"tenant:{ticket.tenant_id}")
    return segs


def predicted_segments(queue: str | None, priority: str | None) -> list[str]:
    """Segments known once the classifier has answered."""
    return [s for s in (queue and f"queue:{queue}", priority and f"priority:{priority}") if s]


def tripped_switch(enabled: frozenset[str], segments: Sequence[str]) -> str | None:
    """The first enabled switch among ``global`` and the given segments."""
    for key in (GLOBAL_SWITCH, *segments):
        if key in enabled:
            return key
    return None


def tripped_at_intake(enabled: frozenset[str], ticket: TicketInput) -> str | None:
    """The switch that stops a ticket before any model call: ``global`` or an intake segment."""
    return tripped_switch(enabled, intake_segments(ticket))


def tripped_by_prediction(
    enabled: frozenset[str], *, queue: str | None, priority: str | None
) -> str | None:
    """The switch on the predicted queue or priority (or ``global``) that overrides a decision."""
    return tripped_switch(enabled, predicted_segments(queue, priority))
