"""What ``monitor rebaseline`` and ``monitor status`` do: make a period of a version's traffic its
reference, and report references, calibrations, latest windows and open alerts. The caller (a
command) owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from agent.config import Settings
from agent.repositories import catalog
from agent.services.operators import Actor
from monitor.stats.windows import format_duration
from monitor.storage import alerts, references, repository
from monitor.storage.references import BaselineError
from monitor.storage.repository import VersionInfo

__all__ = ["BaselineError", "Rebaselined", "rebaseline", "status"]


@dataclass(frozen=True)
class Rebaselined:
    reference_id: Any
    n_tickets: int
    semver: str


def rebaseline(
    session: Session,
    *,
    settings: Settings,
    semver: str | None,
    start: datetime,
    end: datetime,
    actor: Actor,
    note: str,
) -> Rebaselined:
    """Make ``start``–``end`` of the version's traffic (default: production) its reference.
    Raises :class:`BaselineError` when there is no such version or too little traffic."""
    info = _version(session, semver)
    row = references.rebaseline(
        session, settings=settings, version=info, start=start, end=end, actor=actor, note=note
    )
    return Rebaselined(row.id, row.n_tickets, info.semver)


def _version(session: Session, semver: str | None) -> VersionInfo:
    production = repository.production_version(session)
    if semver is None or (production and production.semver == semver):
        if production is None:
            raise BaselineError("no version is labelled production")
        return production
    version = catalog.version_with_semver(session, semver)
    if version is None:
        raise BaselineError(f"no agent version {semver!r}")
    assert production is not None, "a version's queues come from the production taxonomy"
    return VersionInfo(version.id, semver, production.queues)


def status(session: Session) -> dict[str, Any]:
    """References, cached calibrations, latest windows and open alerts, as JSON-ready dicts."""
    return {
        "references": _references(session),
        "windows": [
            {"window": format_duration(size), "latest_end": end.isoformat(), "segments": n}
            for size, end, n in repository.latest_windows(session)
        ],
        "open_alerts": [
            {
                "id": str(a.id),
                "segment": a.segment,
                "window": format_duration(a.window_size_s),
                "severity": a.severity,
                "status": a.status,
                "score": a.score,
                "opened_at": a.opened_at.isoformat(),
                "actions": a.actions,
            }
            for a in alerts.alerts(session)
        ],
    }


def _references(session: Session) -> list[dict[str, Any]]:
    refs = []
    for r in repository.active_references(session):
        version = repository.semver_of(session, r.agent_version_id) if r.agent_version_id else None
        start = r.starts_at.isoformat() if r.starts_at else "…"
        refs.append(
            {
                "id": str(r.id),
                "kind": r.kind,
                "version": version,
                "period": f"{start} – {r.ends_at.isoformat()}",
                "n_tickets": r.n_tickets,
                "calibrations": repository.count_calibrations(session, r.id),
                "created_by": r.created_by,
                "note": r.note,
            }
        )
    return refs
