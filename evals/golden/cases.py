"""Golden cases and their JSONL: one ``{"text", "queue", "priority", "tags"}`` object a line.

A case's queue is one of the taxonomy's, or ``human_triage`` when the right route is a person
(a ticket out of scope, say): the agent is right to hand it over. Such a case's priority may
be ``null`` (or left out): the priority head scores only tickets the agent should route.

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
from agent.taxonomy import HUMAN_TRIAGE, PRIORITIES, Taxonomy

FIELDS = ("text", "queue", "priority", "tags")
TICKET_TAG = "ticket"
CHANNEL_TAG = "channel"
PROVENANCE_FIELDS = ("intent", "channel", "external_id")  # a labelled row's, kept as tags


@dataclass(frozen=True, slots=True)
class GoldenCase:
    """A ticket with its correct route; tags say where it came from (``intent:…``, …).

    ``queue`` is ``human_triage`` when a person is the right route; ``priority`` is then
    optional (``None``)."""

    text: str
    queue: str
    priority: str | None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(sorted(set(self.tags))))

    @property
    def to_person(self) -> bool:
        """The right route is a person (human triage), not a queue."""
        return self.queue == HUMAN_TRIAGE

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
    return from_values(
        {f: getattr(record, f) for f in ("text", "queue", "priority", *PROVENANCE_FIELDS)}
    )


def from_values(values: dict[str, Any]) -> GoldenCase:
    """A labelled row's validated fields as a golden case (``read_labelled_values``)."""
    tags = [f"intent:{values['intent']}"] if values.get("intent") else []
    if values.get("channel"):
        tags.append(f"{CHANNEL_TAG}:{values['channel']}")
    if values.get("external_id"):
        tags.append(f"id:{values['external_id']}")
    return GoldenCase(values["text"], values["queue"], values.get("priority"), tuple(tags))


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
    to_person = row.get("queue") == HUMAN_TRIAGE
    for name in ("text", "queue") if to_person else ("text", "queue", "priority"):
        if not isinstance(row.get(name), str) or not row[name].strip():
            problems.append((name, "is required (a non-empty string)"))
    if to_person and not isinstance(row.get("priority"), str | None):
        problems.append(("priority", "must be a string or null"))
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        problems.append(("tags", "must be a list of non-empty strings"))
    if problems:
        return None, problems
    queue, priority = row["queue"], row.get("priority")
    if taxonomy is not None and queue not in (*taxonomy.queue_names, HUMAN_TRIAGE):
        problems.append(
            ("queue", f"unknown queue {queue!r} in taxonomy {taxonomy.name} (or {HUMAN_TRIAGE})")
        )
    if priority is not None and priority not in PRIORITIES:
        problems.append(("priority", f"unknown priority {priority!r}"))
    if problems:
        return None, problems
    return GoldenCase(row["text"], queue, priority, tuple(tags)), []
