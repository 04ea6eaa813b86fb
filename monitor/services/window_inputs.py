"""What judging one window of one segment needs: its decisions, its reference, its budget.

Shared by the judgement at close (:mod:`compute`) and the re-judgements on late labels
(:mod:`late_labels`), so both judge a window against the same reference at the same budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from agent.config import Settings
from monitor.services import streams
from monitor.stats.budget import StreamBudget
from monitor.stats.samples import WindowData, class_names, traffic_window
from monitor.stats.windows import ALL, Window, is_candidate_stream
from monitor.storage import references, repository
from monitor.storage.references import Reference


@dataclass(frozen=True)
class WindowInputs:
    """A window's sample, reference and budget; or, with ``reason``, why it cannot be judged."""

    n: int
    n_reference: int = 0
    reason: str | None = None
    current: WindowData | None = None
    reference: Reference | None = None
    ref_data: WindowData | None = None
    budget: StreamBudget | None = None


def load_inputs(
    session: Session, *, settings: Settings, window: Window, segment: str
) -> WindowInputs:
    """Load the window's decisions and its reference; say why not when either is too small."""
    version = repository.production_version(session)
    if version is None:
        return WindowInputs(0, reason="no production version")
    classes = class_names(version.queues)
    current = traffic_window(
        repository.window_rows(
            session,
            start=window.start,
            end=window.end,
            segment=segment,
            limit=settings.monitor_window_max_tickets,
        ),
        classes,
    )
    minimum = settings.monitor_min_tickets
    if current.n < minimum:
        return WindowInputs(current.n, reason=f"{current.n} tickets, fewer than {minimum}")
    reference = references.resolve_reference(
        session, settings=settings, version=version, at=window.end
    )
    if reference is None:
        reason = "no reference yet: no labelled history and no traffic reference"
        return WindowInputs(current.n, reason=reason)
    # A candidate stream is judged against production's whole reference: what it should route
    # like. A segment of production's stream against the reference's same segment.
    ref_segment = ALL if is_candidate_stream(segment) else segment
    ref_data = _reference_data(session, settings, reference, classes, ref_segment)
    if ref_data.n < minimum:
        reason = f"the reference holds {ref_data.n} tickets of this segment, fewer than {minimum}"
        return WindowInputs(current.n, ref_data.n, reason)
    whole = (
        ref_data if ref_segment == ALL else _reference_data(session, settings, reference, classes)
    )
    budget = streams.budget_of(settings, window=window, segment=segment, reference_all=whole)
    if budget.share <= 0.0:
        reason = "no false-alarm budget: the segment's kind is not watched"
        return WindowInputs(current.n, ref_data.n, reason)
    return WindowInputs(current.n, ref_data.n, None, current, reference, ref_data, budget)


def _reference_data(
    session: Session,
    settings: Settings,
    reference: Reference,
    classes: tuple[str, ...],
    segment: str = ALL,
) -> WindowData:
    return references.reference_data(
        session,
        reference,
        segment=segment,
        classes=classes,
        limit=settings.monitor_reference_max_tickets,
    )
