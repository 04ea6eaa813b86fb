"""Banking77 (PolyAI, CC BY 4.0): online-banking customer queries labelled with 77 intents.

The dataset lives in ``settings.datasets_dir / "banking77"``; when it is not there it is
fetched on first use from the pinned upstream commit, each file checked against its
SHA-256. A taxonomy turns its intents into routes: ``labelled_records(split, taxonomy)``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from agent.config import Settings, get_settings
from agent.datasets.fetch import fetch_files
from agent.datasets.records import LabelledFileError, LabelledTicket, RowError
from agent.taxonomy import Taxonomy

Split = Literal["train", "test"]
SPLITS: tuple[str, ...] = get_args(Split)
FILES = ("train.csv", "test.csv", "categories.json")
SOURCE_COMMIT = "57ec275d8078af65b7731c2a98be812d844a6d6b"
# Digests of the files at SOURCE_COMMIT, so a mirror or a changed upstream cannot slip in.
SHA256: Mapping[str, str] = {
    "train.csv": "b06e26ac675513959a63135f11b94ea7786ed02da65db93a5650d8838cbc664b",
    "test.csv": "d12d6e3bc4c3103966ae786dc435913c0c563dfa328f5a3646d0e62cfeeb474d",
    "categories.json": "53261da888122daf2d120d925458631d9619e15d82e56052e7a42e535ce32b63",
}


@dataclass(frozen=True, slots=True)
class Banking77Record:
    """One query of a split; ``row`` is its 1-based position among the split's data rows."""

    text: str
    intent: str
    row: int


def banking77_dir(settings: Settings | None = None) -> Path:
    """Where Banking77 is read from (and fetched into)."""
    return (settings or get_settings()).datasets_dir / "banking77"


def is_present(root: Path) -> bool:
    """Whether every file of the dataset is in ``root``."""
    return all((root / name).is_file() for name in FILES)


def ensure_banking77(
    *, settings: Settings | None = None, checksums: Mapping[str, str] | None = SHA256
) -> Path:
    """The dataset's directory, fetching the missing files first if needed.

    Raises ``DatasetUnavailableError`` (with what to do) when it is absent and unreachable.
    """
    settings = settings or get_settings()
    root = banking77_dir(settings)
    if not is_present(root):
        fetch_files(
            what="Banking77",
            base_url=settings.banking77_url,
            names=FILES,
            dest=root,
            checksums=checksums,
        )
    return root


def read_intents(root: Path | None = None) -> list[str]:
    """The 77 intent names, in the order of ``categories.json``."""
    path = (root or ensure_banking77()) / "categories.json"
    intents = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(intents, list) or not all(isinstance(i, str) and i for i in intents):
        raise ValueError(f"{path}: expected a JSON list of intent names")
    return intents


def read_split(split: str, *, root: Path | None = None) -> list[Banking77Record]:
    """Every query of ``split`` ("train" or "test"), in file order."""
    if split not in SPLITS:
        raise ValueError(f"unknown Banking77 split {split!r}; expected one of {SPLITS}")
    root = root or ensure_banking77()
    known = set(read_intents(root))
    path = root / f"{split}.csv"
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    if next(reader, None) != ["text", "category"]:
        raise LabelledFileError([RowError(path, 1, None, "expected the header text,category")])
    records: list[Banking77Record] = []
    errors: list[RowError] = []
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if len(cells) != 2 or not cells[0].strip():
            errors.append(RowError(path, line, None, "expected a non-empty text and a category"))
        elif cells[1] not in known:
            errors.append(RowError(path, line, "category", f"unknown intent {cells[1]!r}"))
        else:
            records.append(Banking77Record(text=cells[0], intent=cells[1], row=len(records) + 1))
    if errors:
        raise LabelledFileError(errors)
    return records


def labelled_records(
    split: str, taxonomy: Taxonomy, *, root: Path | None = None
) -> list[LabelledTicket]:
    """``split`` as labelled tickets, routed by ``taxonomy``, in file order.

    ``external_id`` is ``banking77:<split>:<row>``, stable for the pinned data, so loading
    the same records twice is idempotent downstream.
    """
    records = read_split(split, root=root)
    missing = sorted({r.intent for r in records} - set(taxonomy.intents))
    if missing:
        raise ValueError(f"taxonomy {taxonomy.name} {taxonomy.version} has no queue for {missing}")
    out: list[LabelledTicket] = []
    for record in records:
        queue, priority = taxonomy.route_for_intent(record.intent)
        out.append(
            LabelledTicket(
                text=record.text,
                queue=queue,
                priority=priority,
                intent=record.intent,
                external_id=f"banking77:{split}:{record.row}",
            )
        )
    return out
