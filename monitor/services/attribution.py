"""Attributing a production alert: did the world drift, or did our change regress?

When an alert opens on a production stream, up to ``monitor_attribution_max_tickets`` labelled
tickets of its window are routed again through the previous production version (the one the
production label pointed at before the current one), in memory: the same graph with that
version pinned, on the ticket's stored embedding, nothing recorded. The current version's
stored decisions and the replay are compared on the same tickets
(:func:`monitor.stats.attribution.attribute`); the verdict and its figures go into the alert's
``evidence["attribution"]``. Reading (:func:`gather`) and writing (:func:`store`) are separate
transactions of the caller's, so that the replay between them holds no lock on the alert.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from agent.config import Settings
from monitor.stats.attribution import EVIDENCE_KEY, Attribution, attribute
from monitor.stats.jsonable import jsonable
from monitor.stats.windows import Window, is_candidate_stream
from monitor.storage import attribution, repository
from monitor.storage.attribution import LabelledDecision

# (ticket id, version id) -> the queue the version routes the ticket to; None: no such ticket.
# Raises ReplayStopped when no more tickets may be replayed (the shadow budget is spent).
Replay = Callable[[uuid.UUID, uuid.UUID], str | None]


class ReplayStopped(RuntimeError):
    """No more replays: the comparison is made on the tickets replayed so far."""


@dataclass(frozen=True)
class Inputs:
    """What an alert's attribution replays and compares."""

    window: Window
    current: str | None
    previous_id: uuid.UUID | None
    previous: str | None
    labelled: list[LabelledDecision] = field(default_factory=list)


def gather(session: Session, *, settings: Settings, alert_id: uuid.UUID) -> Inputs | None:
    """The alert's labelled tickets and the two versions; None when there is nothing to do
    (no such alert, a candidate stream's, or one attributed already)."""
    alert = attribution.alert(session, alert_id)
    if alert is None or is_candidate_stream(alert.segment):
        return None
    if EVIDENCE_KEY in (alert.evidence or {}):
        return None
    window = Window(alert.window_size_s, alert.last_window_end)
    current = repository.production_version(session)
    if current is None:
        return Inputs(window, None, None, None)
    previous = attribution.previous_production(session, current=current.id)
    labelled = attribution.labelled_decisions(
        session,
        version_id=current.id,
        segment=alert.segment,
        start=window.start,
        end=window.end,
        limit=settings.monitor_attribution_max_tickets,
    )
    semver = repository.semver_of(session, previous) if previous else None
    return Inputs(window, current.semver, previous, semver, labelled)


def judge(inputs: Inputs, *, settings: Settings, replay: Replay) -> dict[str, Any]:
    """Replay the labelled tickets through the previous version and compare: the document."""
    result = _compare(inputs, settings=settings, replay=replay)
    window = inputs.window
    return jsonable(
        {
            **result.as_dict(),
            "window": {"size_s": window.size_s, "start": window.start, "end": window.end},
            "current_version": inputs.current,
            "previous_version": inputs.previous,
            "attributed_at": datetime.now(UTC),
        }
    )


def _compare(inputs: Inputs, *, settings: Settings, replay: Replay) -> Attribution:
    labelled, previous = inputs.labelled, inputs.previous_id
    alpha, min_labelled = (
        settings.monitor_attribution_alpha,
        settings.monitor_attribution_min_labelled,
    )
    if previous is None:
        return Attribution("no_previous_version", len(labelled), alpha=alpha)
    if len(labelled) < min_labelled:  # not worth a replay
        return Attribution("insufficient", len(labelled), alpha=alpha, min_labelled=min_labelled)
    replayed: list[str | None] = []
    stopped = None
    for row in labelled:
        try:
            replayed.append(replay(row.ticket_id, previous))
        except ReplayStopped as exc:
            stopped = str(exc)
            break
    done = labelled[: len(replayed)]
    return attribute(
        [row.queue == row.truth for row in done],
        [queue == row.truth for queue, row in zip(replayed, done, strict=True)],
        alpha=alpha,
        min_labelled=min_labelled,
        stopped=stopped,
    )


def store(session: Session, *, alert_id: uuid.UUID, doc: dict[str, Any]) -> bool:
    """Put the attribution in the alert's evidence, once; whether this call stored it."""
    alert = attribution.alert(session, alert_id, lock=True)
    if alert is None or EVIDENCE_KEY in (alert.evidence or {}):
        return False
    alert.evidence = {**(alert.evidence or {}), EVIDENCE_KEY: doc}
    session.flush()
    return True
