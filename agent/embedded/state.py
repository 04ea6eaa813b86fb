"""The state file: where the embedded services listen, shared by every process."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ServiceRecord:
    """One running embedded service as recorded at start."""

    name: str
    pid: int
    url: str
    started_at: float
    details: dict[str, Any]


def read_state(path: Path) -> dict[str, ServiceRecord]:
    """The recorded services; a missing or corrupt file reads as none (recovered, not fatal)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: ServiceRecord(**rec) for name, rec in raw.items()}
    except (FileNotFoundError, ValueError, TypeError):
        return {}


def write_state(path: Path, services: dict[str, ServiceRecord]) -> None:
    """Write atomically, readable by the owner only (the Redis URL carries a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({name: asdict(rec) for name, rec in services.items()}, fh, indent=2)
    os.replace(tmp, path)
