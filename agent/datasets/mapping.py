"""The format of a helpdesk's own CSV export: column maps, presets and priority maps.

An export is read through an ``ExportFormat``: which columns hold the ticket's text (several
may be joined), its queue label, priority, timestamp and id (``--map``, or a ``--preset`` for
the CSV exports of Zendesk, Jira Service Management, ServiceNow and Freshdesk), how its
priority values translate to P1–P4 (``--priority-map``; common spellings need none), and the
time zone of timestamps written without an offset. Each row comes out as the fields of a
labelled file (``agent.datasets.records``), or as an error naming the file, the line
and the column (``agent.datasets.export_csv`` reads the file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.taxonomy import PRIORITIES

MAPPABLE_FIELDS = (
    "text",
    "queue",
    "priority",
    "timestamp",
    "external_id",
    "intent",
    "channel",
    "customer_id",
)
REQUIRED_MAPPED = ("text", "queue")

# Spellings of priorities that mean the same in every helpdesk we know; an export whose
# values mean something else (Freshdesk's API numbers 1=Low..4=Urgent) needs a priority map.
COMMON_PRIORITIES: dict[str, str] = {
    **{p.casefold(): p for p in PRIORITIES},
    **{str(i): f"P{i}" for i in range(1, 5)},
    "critical": "P1",
    "urgent": "P1",
    "highest": "P1",
    "blocker": "P1",
    "high": "P2",
    "major": "P2",
    "normal": "P3",
    "medium": "P3",
    "moderate": "P3",
    "low": "P4",
    "lowest": "P4",
    "minor": "P4",
    "trivial": "P4",
    "planning": "P4",
}
# "1 - Critical" (ServiceNow) and the like: the leading number decides.
_NUMBERED = re.compile(r"^([1-4])\s*[-–:.)]\s*\S")


class ExportFormatError(ValueError):
    """A ``--map``, ``--priority-map``, ``--preset`` or ``--timezone`` that cannot be used."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the export; an ``optional`` one may be absent from the header."""

    name: str
    optional: bool = False

    def __str__(self) -> str:
        return self.name + ("?" if self.optional else "")


@dataclass(frozen=True)
class Preset:
    """The columns of one helpdesk's CSV export, and what its priority values mean."""

    name: str
    columns: dict[str, tuple[Column, ...]]
    priorities: dict[str, str] = field(default_factory=dict)
    note: str = ""


def _cols(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n.rstrip("?"), n.endswith("?")) for n in names)


# The columns each product's CSV export writes (their English UI names); a "?" column may be
# missing (Zendesk's CSV export leaves the description out; other exports can include it).
PRESETS: dict[str, Preset] = {
    "zendesk": Preset(
        "zendesk",
        {
            "text": _cols("Subject", "Description?"),
            "queue": _cols("Group"),
            "priority": _cols("Priority?"),
            "timestamp": _cols("Created at?"),
            "external_id": _cols("Id?"),
        },
        note="Zendesk Support CSV export (Admin Center > Account > Tools > Reports > Export)",
    ),
    "jira": Preset(
        "jira",
        {
            "text": _cols("Summary", "Description?"),
            "queue": _cols("Component/s"),
            "priority": _cols("Priority?"),
            "timestamp": _cols("Created?"),
            "external_id": _cols("Issue key?"),
        },
        note="Jira Service Management issue search > Export > CSV (all fields); route by "
        "request type with --map 'queue=Custom field (Request Type)'",
    ),
    "servicenow": Preset(
        "servicenow",
        {
            "text": _cols("short_description", "description?"),
            "queue": _cols("assignment_group"),
            "priority": _cols("priority?"),
            "timestamp": _cols("opened_at?"),
            "external_id": _cols("number?"),
        },
        # "5 - Planning" has no P5: the lowest priority the taxonomy has.
        priorities={"5 - planning": "P4", "5": "P4"},
        note="ServiceNow incident list > Export > CSV (field names as column headers)",
    ),
    "freshdesk": Preset(
        "freshdesk",
        {
            "text": _cols("Subject", "Description?"),
            "queue": _cols("Group"),
            "priority": _cols("Priority?"),
            "timestamp": _cols("Created time?"),
            "external_id": _cols("Ticket ID?"),
        },
        # Freshdesk numbers its priorities upwards (1 Low .. 4 Urgent), the reverse of P1..P4.
        priorities={"1": "P4", "2": "P3", "3": "P2", "4": "P1"},
        note="Freshdesk Tickets > Export (CSV)",
    ),
}


@dataclass(frozen=True)
class ExportFormat:
    """How to read one export: its columns, priority values, time zone and delimiter."""

    columns: Mapping[str, tuple[Column, ...]]
    priorities: Mapping[str, str] = field(default_factory=dict)
    timezone: tzinfo | None = None
    delimiter: str | None = None

    def column_label(self, name: str | None) -> str | None:
        """How an error names the field ``name``: the export column(s) it came from."""
        cols = self.columns.get(name or "")
        if not cols:
            return name
        return "column " + "+".join(repr(c.name) for c in cols)

    def priority(self, value: str) -> str | None:
        """``value`` as P1–P4, by the priority map, then the common spellings; else None."""
        key = " ".join(value.split()).casefold()
        if key in self.priorities:
            return self.priorities[key]
        if key in COMMON_PRIORITIES:
            return COMMON_PRIORITIES[key]
        match = _NUMBERED.match(key)
        return f"P{match.group(1)}" if match else None


IDENTITY_COLUMNS: dict[str, tuple[Column, ...]] = {
    f: (Column(f, optional=f not in REQUIRED_MAPPED),) for f in MAPPABLE_FIELDS
}


def export_format(
    *,
    column_map: str | None = None,
    preset: str | None = None,
    priority_map: str | None = None,
    timezone: str | None = None,
) -> ExportFormat | None:
    """The format the command-line options describe, or None when none was given (a plain
    labelled file). ``column_map`` overrides the preset's columns field by field; a field
    neither names is read from the column of its own name (``text``, ``queue``, ...)."""
    if column_map is None and preset is None and priority_map is None and timezone is None:
        return None
    base = _preset(preset) if preset else None
    columns = dict(base.columns if base else IDENTITY_COLUMNS)
    if column_map:
        columns.update(parse_column_map(column_map))
    priorities = {**(base.priorities if base else {}), **parse_priority_map(priority_map or "")}
    return ExportFormat(columns, priorities, parse_timezone(timezone))


def _preset(name: str) -> Preset:
    try:
        return PRESETS[name.lower()]
    except KeyError:
        known = ", ".join(PRESETS)
        raise ExportFormatError(f"unknown preset {name!r}; known presets: {known}") from None


# A comma starts a new field only before ``word=``: column names may hold other commas.
_FIELD_START = re.compile(r",\s*(?=[A-Za-z_]+\s*=)")


def parse_column_map(spec: str) -> dict[str, tuple[Column, ...]]:
    """``text=Subject+Description,queue=Assignment group`` as field → columns. A column name
    may hold commas; ``+`` joins several columns (text only); a trailing ``?`` makes a column
    optional."""
    columns: dict[str, tuple[Column, ...]] = {}
    for part in _FIELD_START.split(spec.strip()):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in MAPPABLE_FIELDS:
            allowed = ", ".join(MAPPABLE_FIELDS)
            raise ExportFormatError(f"--map: {part!r} is not FIELD=Column ({allowed})")
        if name in columns:
            raise ExportFormatError(f"--map names {name} twice")
        names = [c.strip() for c in value.split("+")]
        if not all(names):
            raise ExportFormatError(f"--map: {name} has an empty column name in {value!r}")
        if len(names) > 1 and name != "text":
            raise ExportFormatError(f"--map: only text may join several columns, not {name}")
        columns[name] = _cols(*names)
    return columns


def parse_priority_map(spec: str) -> dict[str, str]:
    """``"1 - Critical=P1,2 - High=P2"`` as value (case- and space-insensitive) → P1–P4."""
    out: dict[str, str] = {}
    for part in filter(str.strip, spec.split(",")):
        value, sep, target = part.rpartition("=")
        target = target.strip().upper()
        if not sep or not value.strip():
            raise ExportFormatError(f"--priority-map: {part!r} is not VALUE=P1..P4")
        if target not in PRIORITIES:
            raise ExportFormatError(
                f"--priority-map: {value.strip()!r} maps to {target!r}; "
                f"use one of {', '.join(PRIORITIES)}"
            )
        out[" ".join(value.split()).casefold()] = target
    return out


def parse_timezone(name: str | None) -> tzinfo | None:
    """The time zone of timestamps written without an offset (``UTC``, ``Europe/Paris``)."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExportFormatError(f"--timezone: unknown time zone {name!r}") from None
