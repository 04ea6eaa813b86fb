"""Defaults computed at start-up, shared by the settings sections."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_EMBEDDING_MODEL = "local:all-MiniLM-L6-v2"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("ticketwatch", appauthor=False))


def default_embedding_threads() -> int:
    # Half the cores, at most 8: MiniLM gains little beyond that, and the API process shares
    # the machine with Postgres, Redis and the workers.
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def default_datasets_dir() -> Path:
    # A development checkout keeps the public datasets beside it in ../shared/data;
    # an installed copy keeps them (fetched on first use) under the data directory.
    beside_checkout = REPO_ROOT.parent / "shared" / "data"
    if beside_checkout.is_dir():
        return beside_checkout
    return default_data_dir() / "datasets"
