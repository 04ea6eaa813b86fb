"""The CHECK on ``agent_versions.classifier``: the kinds the classifier registry holds.

Classifier kinds are plug-ins (one module each in ``agent/classify/kinds``), so the list the
database accepts is derived, not written out: migration ``b2c1a55e0011`` writes it from the
registry, and every upgrade that ends at head (``ticketwatch migrate``, start-up, tests) brings
it back in step when a kind was added or removed since (:func:`sync`). Versions are immutable,
so a kind some version uses cannot be dropped: that is an error naming the kinds and versions.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

from agent.classify.registry import check_sql, kind_names
from agent.models.catalog import CLASSIFIER_CHECK as CONSTRAINT

ORIGINAL_KINDS = ("knn", "llm", "cascade")  # the list the initial schema wrote out


class KindsInUseError(RuntimeError):
    """Versions use kinds that no module registers any more: the CHECK cannot drop them."""


def kinds_in_db(connection: Connection) -> set[str] | None:
    """The kinds the database's CHECK accepts (None: there is no such CHECK)."""
    definition = connection.execute(
        text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
        {"name": CONSTRAINT},
    ).scalar()
    return None if definition is None else set(re.findall(r"'([^']*)'", definition))


def write(connection: Connection, names: tuple[str, ...]) -> None:
    """Replace the CHECK with one accepting ``names``; refuse if a version uses another kind."""
    stray = connection.execute(
        text(
            "SELECT classifier, string_agg(semver, ', ' ORDER BY semver) FROM agent_versions "
            "WHERE classifier <> ALL(:names) GROUP BY classifier ORDER BY classifier"
        ),
        {"names": list(names)},
    ).all()
    if stray:
        used = "; ".join(f"{kind!r} (versions {semvers})" for kind, semvers in stray)
        raise KindsInUseError(
            f"agent versions use classifier kinds that are not registered: {used}. Versions "
            "are immutable: restore the kind's module in agent/classify/kinds"
        )
    connection.execute(text(f"ALTER TABLE agent_versions DROP CONSTRAINT IF EXISTS {CONSTRAINT}"))
    connection.execute(
        text(f"ALTER TABLE agent_versions ADD CONSTRAINT {CONSTRAINT} CHECK ({check_sql(names)})")
    )


def sync(connection: Connection) -> str | None:
    """Bring the CHECK in step with the registry; what changed (None: nothing)."""
    names = kind_names()
    before = kinds_in_db(connection) or set()
    if before == set(names):
        return None
    write(connection, names)
    added, dropped = sorted(set(names) - before), sorted(before - set(names))
    return "classifier kinds accepted: " + ", ".join(
        [*(f"+{n}" for n in added), *(f"-{n}" for n in dropped)]
    )
