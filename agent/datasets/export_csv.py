"""Reading a CSV export through an ``ExportFormat`` (``agent.datasets.mapping``).

Files are decoded as UTF-8 (a BOM is dropped); a CSV that is not UTF-8 is read as cp1252 (or
Latin-1) with a warning. The delimiter is sniffed among ``, ; tab |``; quoted newlines are
kept. Binary junk (NUL or other control characters) and texts longer than the API accepts
are errors naming the line and the column.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from agent.datasets.mapping import REQUIRED_MAPPED, Column, ExportFormat

log = logging.getLogger(__name__)

# The longest ticket body the API accepts (agent/api/schemas.py, TicketCreate.body).
MAX_TEXT_CHARS = 20_000
TEXT_JOINER = "\n"
# The csv module refuses fields over 128 KiB by default; a longer ticket must reach the
# length check (and its clear error), not stop the reader.
csv.field_size_limit(max(csv.field_size_limit(), 64 * 2**20))
DELIMITERS = ",;\t|"


@dataclass(frozen=True, slots=True)
class CellError:
    """A problem at ``line`` (1-based) in ``column`` (a name, or None for the whole row)."""

    line: int
    column: str | None
    message: str


def decode_export(path: Path, data: bytes, *, fallback: bool) -> str:
    """The text of an export: UTF-8 (BOM dropped), else cp1252 or Latin-1 when ``fallback``.

    Raises ``CellErrors`` for binary data (a NUL byte) or, without ``fallback``, non-UTF-8."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position(data, nul)
        raise CellErrors([CellError(line, None, f"binary data (NUL byte) at character {col}")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not fallback:
            line, _ = _position(data, exc.start)
            raise CellErrors([CellError(line, None, "not valid UTF-8")]) from None
        first_bad = _position(data, exc.start)[0]
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        log.warning(
            "%s is not UTF-8 (first at line %d): read as %s; check accented letters",
            path,
            first_bad,
            encoding,
        )
        return text
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


class CellErrors(ValueError):
    """Problems that stop a file from being read at all."""

    def __init__(self, errors: list[CellError]) -> None:
        self.errors = errors
        super().__init__("; ".join(e.message for e in errors))


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV: sniffed from its header line among ``, ; tab |``."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def csv_records(
    text: str, *, delimiter: str | None = None
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and each non-blank row with the line it starts on (quoted newlines kept)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or sniff_delimiter(text))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise CellErrors([CellError(1, None, f"not readable as CSV: {exc}")]) from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        start = reader.line_num + 1
        try:
            for cells in reader:
                line, start = start, reader.line_num + 1
                if any(c.strip() for c in cells):
                    yield line, cells
        except csv.Error as exc:
            raise CellErrors([CellError(start, None, f"not readable as CSV: {exc}")]) from None

    return header, rows()


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be a ticket's text (control characters, too long), or None."""
    if len(value) > MAX_TEXT_CHARS:
        return f"is {len(value):,} characters long; a ticket has at most {MAX_TEXT_CHARS:,}"
    for i, ch in enumerate(value):
        if ch not in "\t\n\r" and unicodedata.category(ch) == "Cc":
            return f"binary data: control character U+{ord(ch):04X} at character {i + 1}"
    return None


def mapped_rows(path: Path, fmt: ExportFormat) -> Iterator[tuple[int, dict[str, Any] | CellError]]:
    """Each row of a CSV export as labelled-file fields (raw queue label, P1–P4 priority,
    ISO timestamp), or a ``CellError``; a header without a required column ends the file
    with one error per missing column (line 1)."""
    try:
        text = decode_export(path, path.read_bytes(), fallback=True)
    except CellErrors as exc:
        yield from ((e.line, e) for e in exc.errors)
        return
    try:
        header, rows = csv_records(text, delimiter=fmt.delimiter)
    except CellErrors as exc:
        yield from ((e.line, e) for e in exc.errors)
        return
    if not header:
        yield 1, CellError(1, None, "empty file: expected a header row")
        return
    index, missing = _resolve_columns(header, fmt)
    if missing:
        for field_name, col in missing:
            yield 1, CellError(1, repr(col.name), _missing_message(col, field_name, header))
        return
    try:
        for line, cells in rows:
            if len(cells) != len(header):
                msg = f"has {len(cells)} columns, the header has {len(header)}"
                yield line, CellError(line, None, msg)
                continue
            yield from _map_row(line, cells, index, fmt)
    except CellErrors as exc:
        yield from ((e.line, e) for e in exc.errors)


def _missing_message(col: Column, field_name: str, header: list[str]) -> str:
    near = [h for h in header if h.casefold() == col.name.casefold()]
    hint = f" (did you mean {near[0]!r}? names are case-sensitive)" if near else ""
    shown = ", ".join(map(repr, header[:30])) + (", ..." if len(header) > 30 else "")
    return f"no column {col.name!r} for {field_name}{hint}; the header has {shown}"


def _resolve_columns(
    header: list[str], fmt: ExportFormat
) -> tuple[dict[str, list[tuple[str, int]]], list[tuple[str, Column]]]:
    position: dict[str, int] = {}
    for i, name in enumerate(header):
        position.setdefault(name, i)  # Jira repeats a multi-valued column: the first counts
    index: dict[str, list[tuple[str, int]]] = {}
    missing: list[tuple[str, Column]] = []
    for field_name, cols in fmt.columns.items():
        found = [(c.name, position[c.name]) for c in cols if c.name in position]
        missing += [(field_name, c) for c in cols if c.name not in position and not c.optional]
        if found:
            index[field_name] = found
    return index, missing


def _map_row(
    line: int, cells: list[str], index: dict[str, list[tuple[str, int]]], fmt: ExportFormat
) -> Iterator[tuple[int, dict[str, Any] | CellError]]:
    values: dict[str, Any] = {}
    errors: list[CellError] = []
    for field_name, cols in index.items():
        parts = [(name, cells[i].strip()) for name, i in cols]
        for name, part in parts:
            problem = text_problem(part)
            if problem:
                errors.append(CellError(line, repr(name), problem))
        joined = TEXT_JOINER.join(p for _, p in parts if p)
        if not joined:
            if field_name in REQUIRED_MAPPED:
                label = "+".join(repr(n) for n, _ in parts)
                errors.append(
                    CellError(line, label, f"is empty: every ticket needs its {field_name}")
                )
            continue
        converted, problem = _convert(field_name, joined, fmt)
        if problem:
            errors.append(CellError(line, repr(parts[0][0]), problem))
        else:
            values[field_name] = converted
    if not errors and len(values.get("text", "")) > MAX_TEXT_CHARS:
        label = "+".join(repr(n) for n, _ in index["text"])
        problem = text_problem(values["text"])
        errors.append(CellError(line, label, f"joined {problem}"))
    if errors:
        for e in errors:
            yield line, e
        return
    yield line, values


Converted = tuple[str, None] | tuple[None, str]  # (value, None) or (None, why not)


def _convert(field_name: str, value: str, fmt: ExportFormat) -> Converted:
    if field_name == "priority":
        mapped = fmt.priority(value)
        if mapped is None:
            return None, (
                f"unknown priority {value!r}: give --priority-map '{value}=P2' "
                "(common spellings: Urgent/High/Normal/Low, Critical, 1-4, P1-P4)"
            )
        return mapped, None
    if field_name == "timestamp":
        return parse_export_timestamp(value, fmt.timezone)
    return value, None


# Timestamps as helpdesks write them; ISO 8601 (with or without an offset) is tried first.
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",  # 2026-11-02 09:30:00 +0100
    "%d/%b/%y %I:%M %p",  # Jira: 02/Nov/26 9:30 AM
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%a, %d %b %Y %H:%M:%S %z",  # RFC 2822
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
)


def parse_export_timestamp(value: str, zone: tzinfo | None) -> Converted:
    """``value`` as an ISO 8601 timestamp with an offset, or why not (unreadable, or no
    offset and no ``--timezone``)."""
    parsed = _parse_datetime(value)
    if parsed is None:
        return None, f"{value!r} is not a date-time this reader knows (use ISO 8601)"
    if parsed.tzinfo is None:
        if zone is None:
            return None, (
                f"{value!r} has no UTC offset: give --timezone (the helpdesk's time zone, "
                "e.g. UTC or Europe/Paris)"
            )
        parsed = parsed.replace(tzinfo=zone)
    return parsed.isoformat(), None


def _parse_datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    for fmt in TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None
