"""Labelled tickets: the record type, a team's own labelled files (CSV or JSONL), and a writer.

A labelled file has one ticket per row with ``text``, ``queue`` and ``priority``, and
optionally ``intent``, ``timestamp`` (ISO 8601 with a UTC offset), ``external_id``,
``channel`` and ``customer_id``. Reading validates every row and reports each problem as
``file:line: field: message``. ``read_labelled_values`` may accept queues besides the
taxonomy's (golden sets accept ``human_triage``: a person is the right route), whose rows may
leave the priority out.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from agent.datasets.export_csv import (
    CellError,
    CellErrors,
    csv_records,
    decode_export,
    mapped_rows,
    text_problem,
)
from agent.datasets.mapping import ExportFormat
from agent.taxonomy import PRIORITIES, Taxonomy

REQUIRED_FIELDS = ("text", "queue", "priority")
OPTIONAL_FIELDS = ("intent", "timestamp", "external_id", "channel", "customer_id")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
MAX_REPORTED_ERRORS = 20

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LabelledTicket:
    """A ticket with its final route; ``intent`` is the source label where there is one."""

    text: str
    queue: str
    priority: str
    intent: str | None = None
    timestamp: datetime | None = None
    external_id: str | None = None
    channel: str | None = None
    customer_id: str | None = None

    def to_json(self) -> dict[str, str]:
        """The JSON object written for this ticket; unset optional fields are left out."""
        row = {"text": self.text, "queue": self.queue, "priority": self.priority}
        for name in OPTIONAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                row[name] = value.isoformat() if isinstance(value, datetime) else value
        return row


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in a labelled file."""

    path: Path
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.path}:{self.line}:{field} {self.message}"


class LabelledFileError(ValueError):
    """A labelled file that cannot be read; ``errors`` lists each problem found."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        shown = "\n".join(f"  {e}" for e in self.errors[:MAX_REPORTED_ERRORS])
        more = len(self.errors) - MAX_REPORTED_ERRORS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{len(self.errors)} problem(s) in labelled file:\n{shown}{tail}")


def shuffled(records: Sequence[T], *, seed: int) -> list[T]:
    """A copy of ``records`` in an order fixed by ``seed``."""
    out = list(records)
    random.Random(seed).shuffle(out)
    return out


def read_labelled_file(
    path: str | Path, *, taxonomy: Taxonomy | None = None, export: ExportFormat | None = None
) -> list[LabelledTicket]:
    """Read a ``.csv`` or ``.jsonl`` labelled file, in file order.

    Queues are checked against ``taxonomy`` when one is given; priorities are always P1–P4.
    ``export`` reads a helpdesk's CSV export through its column map (``agent.datasets.mapping``);
    its queue labels may be the taxonomy's intents (``taxonomy init`` keeps each label as one).
    Raises ``LabelledFileError`` listing every invalid row, ``FileNotFoundError`` if absent.
    """
    values = read_labelled_values(path, taxonomy=taxonomy, export=export)
    return [LabelledTicket(**v) for v in values]


def read_labelled_values(
    path: str | Path,
    *,
    taxonomy: Taxonomy | None = None,
    extra_queues: Collection[str] = (),
    export: ExportFormat | None = None,
) -> list[dict[str, Any]]:
    """As ``read_labelled_file``, each row as its validated fields (unset ones left out).

    ``extra_queues`` are accepted besides the taxonomy's, and their rows may leave the
    priority out (golden sets: ``human_triage``, a person is the right route).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise ValueError(f"{path}: unsupported labelled file type {suffix!r} (use .csv or .jsonl)")
    rows = _raw_rows(path, suffix, export, taxonomy, extra_queues)
    records: list[dict[str, Any]] = []
    errors: list[RowError] = []
    first_line_of_id: dict[str, int] = {}
    for line, row in rows:
        if isinstance(row, RowError):
            errors.append(row)
            continue
        record, row_errors = _validate(path, line, row, taxonomy, frozenset(extra_queues))
        errors.extend(row_errors)
        if record is None:
            continue
        external_id = record.get("external_id")
        if external_id is not None:
            if external_id in first_line_of_id:
                seen = first_line_of_id[external_id]
                errors.append(RowError(path, line, "external_id", f"duplicate of line {seen}"))
                continue
            first_line_of_id[external_id] = line
        records.append(record)
    if errors:
        raise LabelledFileError([_relabel(e, export) for e in errors])
    return records


def _raw_rows(
    path: Path,
    suffix: str,
    export: ExportFormat | None,
    taxonomy: Taxonomy | None,
    extra_queues: Collection[str],
) -> Iterator[RawRow]:
    if export is None:
        try:
            text = decode_export(path, path.read_bytes(), fallback=suffix == ".csv")
        except CellErrors as exc:
            return iter([(e.line, row_error(path, e)) for e in exc.errors])
        return _csv_rows(path, text) if suffix == ".csv" else _jsonl_rows(path, text)
    if suffix != ".csv":
        raise ValueError(f"{path}: a column map or preset reads CSV exports, not {suffix!r}")
    return _mapped(path, export, taxonomy, frozenset(extra_queues))


def _mapped(
    path: Path, export: ExportFormat, taxonomy: Taxonomy | None, extra: frozenset[str]
) -> Iterator[RawRow]:
    for line, row in mapped_rows(path, export):
        if isinstance(row, CellError):
            yield line, row_error(path, row)
        else:
            yield line, _route_label(row, taxonomy, extra)


def _route_label(
    row: dict[str, Any], taxonomy: Taxonomy | None, extra: frozenset[str]
) -> dict[str, Any]:
    """An export's queue label as the taxonomy's queue: a queue name stays (with the queue's
    default priority if the export gives none); a label that is one of the taxonomy's intents
    routes to its queue, with its priority unless the export gives one."""
    label = row.get("queue")
    if taxonomy is None or label is None or label in extra:
        return row
    if label in taxonomy.queue_names:
        default = taxonomy.default_priority.get(label)
        return {**row, "priority": row.get("priority", default)} if default else row
    if label in taxonomy.intents:
        queue, priority = taxonomy.route_for_intent(label)
        return {"intent": label, **row, "queue": queue, "priority": row.get("priority", priority)}
    return row


def row_error(path: Path, error: CellError) -> RowError:
    """A problem the export reader found, as a labelled-file error (the column named)."""
    column = f"column {error.column}" if error.column else None
    return RowError(path, error.line, column, error.message)


def _relabel(error: RowError, export: ExportFormat | None) -> RowError:
    """An error about a field names the export column(s) it was read from."""
    if export is None or error.field is None or error.field.startswith("column "):
        return error
    return RowError(error.path, error.line, export.column_label(error.field), error.message)


def write_labelled_jsonl(records: Iterable[LabelledTicket], path: str | Path) -> int:
    """Write ``records`` as JSONL, atomically (all or nothing); returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            for record in records:
                out.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
                count += 1
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these are ordinary data files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


RawRow = tuple[int, "dict[str, Any] | RowError"]


def _csv_rows(path: Path, text: str) -> Iterator[RawRow]:
    try:
        yield from _csv_cells(path, text)
    except CellErrors as exc:
        yield from ((e.line, row_error(path, e)) for e in exc.errors)


def _csv_cells(path: Path, text: str) -> Iterator[RawRow]:
    header, rows = csv_records(text)
    if not header:
        yield 1, RowError(path, 1, None, "empty file: expected a header row")
        return
    problem = _header_problem(header)
    if problem:
        yield 1, RowError(path, 1, None, problem)
        return
    for line, cells in rows:
        if len(cells) != len(header):
            msg = f"has {len(cells)} columns, the header has {len(header)}"
            yield line, RowError(path, line, None, msg)
            continue
        yield line, {k: v for k, v in zip(header, cells, strict=True) if v != ""}


def _jsonl_rows(path: Path, text: str) -> Iterator[RawRow]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, RowError(path, line, None, f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(row, dict):
            yield line, RowError(path, line, None, "expected a JSON object")
            continue
        problem = _header_problem(list(row))
        if problem:
            yield line, RowError(path, line, None, problem)
            continue
        yield line, {k: v for k, v in row.items() if v is not None}


def _header_problem(names: list[str]) -> str | None:
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        return f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(FIELDS)}"
    if len(set(names)) != len(names):
        return "a field appears more than once"
    return None


def _validate(
    path: Path, line: int, row: dict[str, Any], taxonomy: Taxonomy | None, extra: frozenset[str]
) -> tuple[dict[str, Any] | None, list[RowError]]:
    errors: list[RowError] = []

    def fail(field: str, message: str) -> None:
        errors.append(RowError(path, line, field, message))

    values: dict[str, str] = {}
    for name in FIELDS:
        value = row.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and name.endswith("_id"):
            value = str(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in REQUIRED_FIELDS and not (name == "priority" and row.get("queue") in extra):
                fail(name, "is required")
            continue
        if not isinstance(value, str):
            fail(name, f"must be a string, got {type(value).__name__}")
            continue
        if name == "text" and (problem := text_problem(value)):
            fail(name, problem)
            continue
        values[name] = value
    queue, priority = values.get("queue"), values.get("priority")
    if queue is not None and taxonomy is not None and queue not in (*taxonomy.queue_names, *extra):
        also = f" (or {', '.join(sorted(extra))})" if extra else ""
        fail(
            "queue", f"unknown queue {queue!r} in taxonomy {taxonomy.name} {taxonomy.version}{also}"
        )
    if priority is not None and priority not in PRIORITIES:
        fail("priority", f"unknown priority {priority!r}; expected one of {', '.join(PRIORITIES)}")
    timestamp = _parse_timestamp(values.get("timestamp"), fail)
    if errors:
        return None, errors
    return {**values, "timestamp": timestamp} if timestamp else dict(values), []


def _parse_timestamp(value: str | None, fail: Callable[[str, str], None]) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail("timestamp", f"{value!r} is not an ISO 8601 date-time")
        return None
    if parsed.tzinfo is None:
        # Windows of the monitor are in UTC; a local time without an offset is ambiguous.
        fail("timestamp", f"{value!r} has no UTC offset (write e.g. 2026-11-02T09:30:00Z)")
        return None
    return parsed
