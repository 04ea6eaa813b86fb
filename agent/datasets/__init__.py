"""Datasets: Banking77 as labelled tickets, and a team's own labelled files."""

from agent.datasets.banking77 import (
    SPLITS,
    Banking77Record,
    Split,
    banking77_dir,
    ensure_banking77,
    labelled_records,
    read_intents,
    read_split,
)
from agent.datasets.fetch import DatasetUnavailableError
from agent.datasets.records import (
    LabelledFileError,
    LabelledTicket,
    RowError,
    read_labelled_file,
    shuffled,
    write_labelled_jsonl,
)

__all__ = [
    "SPLITS",
    "Banking77Record",
    "DatasetUnavailableError",
    "LabelledFileError",
    "LabelledTicket",
    "RowError",
    "Split",
    "banking77_dir",
    "ensure_banking77",
    "labelled_records",
    "read_intents",
    "read_labelled_file",
    "read_split",
    "shuffled",
    "write_labelled_jsonl",
]
