"""Golden cases and their JSONL: one ``{"text", "queue", "priority", "tags"}`` object a line.

A golden set's file is written canonically (keys sorted, tags sorted and unique, compact
separators, UTF-8, one trailing newline), so its SHA-256 *is* the content hash that names the
set: the same cases always hash alike, and any edited byte changes the hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.datasets.records import LabelledFileError, LabelledTicket, RowError
from agent.taxonomy import PRIORITIES, Taxonomy

FIELDS = ("text", "queue", "priority", "tags")
TICKET_TAG = "ticket"
CHANNEL_TAG = "channel"


@dataclass(frozen=True, slots=True)
class GoldenCase:
    """A ticket with its correct route; tags say where it came from (``intent:…``, …)."""

    text: str
    queue: str
    priority: str
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(sorted(set(self.tags))))

    def tag(self, kind: str) -> str | None:
        """The value of the first ``kind:value`` tag, if any."""
        prefix = f"{kind}:"
        return next((t[len(prefix) :] for t in self.tags if t.startswith(prefix)), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "queue": self.queue,
            "priority": self.priority,
            "tags": list(self.tags),
        }


def from_labelled(record: LabelledTicket) -> GoldenCase:
    """A labelled ticket as a golden case; its intent, channel and id become tags."""
    tags = [f"intent:{record.intent}"] if record.intent else []
    if record.channel:
        tags.append(f"{CHANNEL_TAG}:{record.channel}")
    if record.external_id:
        tags.append(f"id:{record.external_id}")
    return GoldenCase(record.text, record.queue, record.priority, tuple(tags))


def canonical_line(case: GoldenCase) -> str:
    return json.dumps(case.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical_bytes(cases: Iterable[GoldenCase]) -> bytes:
    return "".join(canonical_line(c) + "\n" for c in cases).encode("utf-8")


def content_hash(cases: Iterable[GoldenCase]) -> str:
    """SHA-256 (hex) of the cases' canonical JSONL."""
    return hashlib.sha256(canonical_bytes(cases)).hexdigest()


def file_hash(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_golden(cases: Sequence[GoldenCase], path: Path) -> str:
    """Write the canonical JSONL atomically; returns its content hash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = canonical_bytes(cases)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def read_golden(path: Path, *, taxonomy: Taxonomy | None = None) -> list[GoldenCase]:
    """Read golden JSONL, validating every row; ``LabelledFileError`` lists the problems."""
    cases: list[GoldenCase] = []
    errors: list[RowError] = []
    text = path.read_text(encoding="utf-8-sig")
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        case, problems = _parse(raw, taxonomy)
        errors.extend(RowError(path, line, field, msg) for field, msg in problems)
        if case is not None:
            cases.append(case)
    if errors:
        raise LabelledFileError(errors)
    return cases


Problems = list[tuple[str | None, str]]


def _parse(raw: str, taxonomy: Taxonomy | None) -> tuple[GoldenCase | None, Problems]:
    try:
        row = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, [(None, f"invalid JSON: {exc.msg}")]
    if not isinstance(row, dict):
        return None, [(None, "expected a JSON object")]
    problems: Problems = []
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        problems.append((None, f"unknown field(s) {unknown}; allowed: {', '.join(FIELDS)}"))
    for name in ("text", "queue", "priority"):
        if not isinstance(row.get(name), str) or not row[name].strip():
            problems.append((name, "is required (a non-empty string)"))
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        problems.append(("tags", "must be a list of non-empty strings"))
    if problems:
        return None, problems
    if taxonomy is not None and row["queue"] not in taxonomy.queue_names:
        problems.append(("queue", f"unknown queue {row['queue']!r} in taxonomy {taxonomy.name}"))
    if row["priority"] not in PRIORITIES:
        problems.append(("priority", f"unknown priority {row['priority']!r}"))
    if problems:
        return None, problems
    return GoldenCase(row["text"], row["queue"], row["priority"], tuple(tags)), []
