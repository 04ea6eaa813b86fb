"""Where golden cases come from: a Banking77 split, or a labelled or golden file."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from agent.datasets.banking77 import SPLITS, labelled_records
from agent.datasets.mapping import ExportFormat
from agent.datasets.records import read_labelled_values, shuffled
from agent.taxonomy import HUMAN_TRIAGE, Taxonomy
from evals.golden.cases import GoldenCase, from_labelled, from_values, read_golden

BANKING77_PREFIX = "banking77:"
DEFAULT_SOURCE = "banking77:test"


def read_source(
    source: str, taxonomy: Taxonomy, *, export: ExportFormat | None = None
) -> list[GoldenCase]:
    """``banking77:<split>`` routed by ``taxonomy``, or a file: labelled CSV/JSONL (text,
    queue, priority, [intent, channel, external_id, ...]) or golden JSONL (with ``tags``).

    A file's queue may also be ``human_triage`` (a person is the right route), with its
    priority left empty or given. ``export`` reads a helpdesk's CSV export through its
    column map (its queue labels may be the taxonomy's intents)."""
    if source.startswith(BANKING77_PREFIX):
        split = source.removeprefix(BANKING77_PREFIX)
        if split not in SPLITS:
            raise ValueError(f"unknown Banking77 split {split!r}; use one of {', '.join(SPLITS)}")
        return [from_labelled(r) for r in labelled_records(split, taxonomy)]
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"no such source file: {path}")
    if export is None and _is_golden_jsonl(path):
        return read_golden(path, taxonomy=taxonomy)
    rows = read_labelled_values(
        path, taxonomy=taxonomy, extra_queues=(HUMAN_TRIAGE,), export=export
    )
    return [from_values(row) for row in rows]


def _is_golden_jsonl(path: Path) -> bool:
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        return False
    with path.open(encoding="utf-8-sig") as fh:
        for raw in fh:
            if raw.strip():
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError:
                    return False
                return isinstance(row, dict) and "tags" in row
    return False


def default_name(source: str) -> str:
    """``banking77-test`` for ``banking77:test``; a file's stem, made name-safe, otherwise."""
    raw = source.replace(":", "-") if source.startswith(BANKING77_PREFIX) else Path(source).stem
    return re.sub(r"[^a-z0-9._-]+", "-", raw.lower()).strip("-._") or "golden"


def per_queue_sample(
    cases: Sequence[GoldenCase], per_queue: int, *, seed: int = 0
) -> list[GoldenCase]:
    """At most ``per_queue`` cases of each queue (a seeded draw), kept in their file order."""
    taken: dict[str, int] = {}
    chosen: list[int] = []
    for i in shuffled(range(len(cases)), seed=seed):
        queue = cases[i].queue
        if taken.get(queue, 0) < per_queue:
            taken[queue] = taken.get(queue, 0) + 1
            chosen.append(i)
    return [cases[i] for i in sorted(chosen)]
