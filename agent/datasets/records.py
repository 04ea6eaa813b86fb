"""Labelled tickets: the record type, a team's own labelled files (CSV or JSONL), and a writer.

A labelled file has one ticket per row with ``text``, ``queue`` and ``priority``, and
optionally ``intent``, ``timestamp`` (ISO 8601 with a UTC offset), ``external_id``,
``channel`` and ``customer_id``. Reading validates every row and reports each problem as
``file:line: field: message``. ``read_labelled_values`` may accept queues besides the
taxonomy's (golden sets accept ``human_triage``: a person is the right route), whose rows may
leave the priority out.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

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
    path: str | Path, *, taxonomy: Taxonomy | None = None
) -> list[LabelledTicket]:
    """Read a ``.csv`` or ``.jsonl`` labelled file, in file order.

    Queues are checked against ``taxonomy`` when one is given; priorities are always P1–P4.
    Raises ``LabelledFileError`` listing every invalid row, ``FileNotFoundError`` if absent.
    """
    return [LabelledTicket(**values) for values in read_labelled_values(path, taxonomy=taxonomy)]


def read_labelled_values(
    path: str | Path,
    *,
    taxonomy: Taxonomy | None = None,
    extra_queues: Collection[str] = (),
) -> list[dict[str, Any]]:
    """As ``read_labelled_file``, each row as its validated fields (unset ones left out).

    ``extra_queues`` are accepted besides the taxonomy's, and their rows may leave the
    priority out (golden sets: ``human_triage``, a person is the right route).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise ValueError(f"{path}: unsupported labelled file type {suffix!r} (use .csv or .jsonl)")
    text = _decode(path)
    rows = _csv_rows(path, text) if suffix == ".csv" else _jsonl_rows(path, text)
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
        raise LabelledFileError(errors)
    return records


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


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LabelledFileError([RowError(path, line, None, "not valid UTF-8")]) from None


RawRow = tuple[int, "dict[str, Any] | RowError"]


def _csv_rows(path: Path, text: str) -> Iterator[RawRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        yield 1, RowError(path, 1, None, "empty file: expected a header row")
        return
    header = [h.strip() for h in header]
    problem = _header_problem(header)
    if problem:
        yield 1, RowError(path, 1, None, problem)
        return
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
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
