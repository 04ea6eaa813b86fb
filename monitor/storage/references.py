"""Which traffic a window is compared with, and that traffic's arrays (cached per process).

The reference of a window is, in this order:

1. the active traffic reference of the production version (set by ``monitor rebaseline``, or
   created automatically as in 3.);
2. else the newest active traffic reference of another version: a new version is compared
   with its predecessor's traffic until someone rebaselines after an intended change, so an
   unintended change in behaviour shows as drift;
3. else, once the production version's first ``monitor_reference_period`` of traffic is over
   and holds at least ``monitor_reference_min_tickets`` decisions, that period (created here,
   by ``monitor``);
4. else the labelled history (a fresh install): content signals only, see samples.py.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from agent.config import Settings
from agent.models import MonitorReference
from agent.repositories import operations
from agent.services.operators import Actor
from monitor.stats.samples import WindowData, history_window, traffic_window
from monitor.stats.windows import format_duration, parse_duration
from monitor.storage import repository
from monitor.storage.repository import VersionInfo

CACHE_SIZE = 64
CACHE_TTL_S = 3600.0  # reviews and outcomes keep arriving for reference tickets


class BaselineError(ValueError):
    """A reference that cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Reference:
    id: uuid.UUID
    kind: str
    version_id: uuid.UUID | None
    starts_at: datetime | None
    ends_at: datetime

    @classmethod
    def of(cls, row: MonitorReference) -> Reference:
        return cls(row.id, row.kind, row.agent_version_id, row.starts_at, row.ends_at)


def resolve_reference(
    session: Session, *, settings: Settings, version: VersionInfo, at: datetime
) -> Reference | None:
    """The reference for windows of ``version`` ending at ``at`` (see the module docstring).

    Creating one takes an advisory lock (held to the end of the caller's transaction), so
    concurrent windows create it once; reading one takes none.
    """
    found = _traffic(repository.active_references(session), version)
    if found is not None:
        return found
    period = _first_period(session, settings, version, at)
    if period is not None:
        repository.lock(session, "monitor:reference")
        found = _traffic(repository.active_references(session), version)
        return found or _create_first_period(session, version, *period)
    history = _history_row(repository.active_references(session))
    if history is not None:
        return history
    if repository.count_history(session) < settings.monitor_reference_min_tickets:
        return None
    repository.lock(session, "monitor:reference")
    return _history_row(repository.active_references(session)) or _create_history(session)


def _traffic(rows: Sequence[MonitorReference], version: VersionInfo) -> Reference | None:
    traffic = [r for r in rows if r.kind == "traffic"]
    own = next((r for r in traffic if r.agent_version_id == version.id), None)
    chosen = own or (traffic[0] if traffic else None)
    return Reference.of(chosen) if chosen else None


def _history_row(rows: Sequence[MonitorReference]) -> Reference | None:
    row = next((r for r in rows if r.kind == "history"), None)
    return Reference.of(row) if row else None


def _first_period(
    session: Session, settings: Settings, version: VersionInfo, at: datetime
) -> tuple[datetime, datetime, int, str] | None:
    """The version's first period, once it is over and holds enough decisions."""
    first = repository.first_decision_at(session, version.id)
    period = parse_duration(settings.monitor_reference_period)
    if first is None or at < first + period:
        return None
    end = first + period
    n = repository.count_decisions(session, version_id=version.id, start=first, end=end)
    if n < settings.monitor_reference_min_tickets:
        return None
    return first, end, n, format_duration(int(period.total_seconds()))


def _create_first_period(
    session: Session, version: VersionInfo, start: datetime, end: datetime, n: int, period: str
) -> Reference:
    row = repository.add_reference(
        session,
        agent_version_id=version.id,
        kind="traffic",
        starts_at=start,
        ends_at=end,
        n_tickets=n,
        created_by="monitor",
        note=f"first {period} of {version.semver}",
    )
    return Reference.of(row)


def _create_history(session: Session) -> Reference:
    row = repository.add_reference(
        session,
        agent_version_id=None,
        kind="history",
        starts_at=None,
        ends_at=datetime.now(UTC),
        n_tickets=repository.count_history(session),
        created_by="monitor",
        note="labelled history (no traffic reference yet)",
    )
    return Reference.of(row)


def rebaseline(
    session: Session,
    *,
    settings: Settings,
    version: VersionInfo,
    start: datetime,
    end: datetime,
    actor: Actor,
    note: str = "",
) -> MonitorReference:
    """Make [start, end) of ``version``'s traffic its reference (after an intended change)."""
    if end <= start:
        raise BaselineError("the reference period must end after it starts")
    n = repository.count_decisions(session, version_id=version.id, start=start, end=end)
    if n < settings.monitor_reference_min_tickets:
        raise BaselineError(
            f"{version.semver} decided {n} tickets in that period; a reference needs "
            f"{settings.monitor_reference_min_tickets} (TICKETWATCH_MONITOR_REFERENCE_MIN_TICKETS)"
        )
    repository.deactivate_references(session, version_id=version.id, kind="traffic")
    row = repository.add_reference(
        session,
        agent_version_id=version.id,
        kind="traffic",
        starts_at=start,
        ends_at=end,
        n_tickets=n,
        created_by=actor.name,
        note=note,
    )
    operations.add_audit_entry(
        session,
        actor=actor.name,
        actor_role=actor.role,
        action="monitor.rebaseline",
        target=version.semver,
        details={
            "reference_id": str(row.id),
            "from": start.isoformat(),
            "to": end.isoformat(),
            "n_tickets": n,
            "note": note,
        },
    )
    return row


_cache: OrderedDict[tuple[object, ...], tuple[float, WindowData]] = OrderedDict()
_cache_lock = threading.Lock()


def reference_data(
    session: Session,
    reference: Reference,
    *,
    segment: str,
    classes: Sequence[str],
    limit: int,
) -> WindowData:
    """The reference's arrays for one segment (cached: references are past periods)."""
    key = (reference.id, segment, tuple(classes), limit)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S:
            _cache.move_to_end(key)
            return hit[1]
    data = _load(session, reference, segment=segment, classes=classes, limit=limit)
    with _cache_lock:
        _cache[key] = (time.monotonic(), data)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return data


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _load(
    session: Session, reference: Reference, *, segment: str, classes: Sequence[str], limit: int
) -> WindowData:
    if reference.kind == "history":
        rows = repository.history_rows(session, end=reference.ends_at, segment=segment, limit=limit)
        return history_window(rows, classes)
    assert reference.starts_at is not None and reference.version_id is not None
    decisions = repository.window_rows(
        session,
        start=reference.starts_at,
        end=reference.ends_at,
        segment=segment,
        limit=limit,
        version_id=reference.version_id,
    )
    return traffic_window(decisions, classes)
