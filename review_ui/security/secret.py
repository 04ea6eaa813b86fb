"""The key that signs session cookies: from settings, or generated once and kept on disk."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from agent.config import Settings

SECRET_FILE = "session_secret"


def session_secret(settings: Settings) -> str:
    """``session_secret`` if set; else the contents of ``<data_dir>/session_secret`` (0600),
    created atomically by the first process that needs it."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if len(value) < 32:
        raise RuntimeError(f"{path} holds too short a session secret; delete it to regenerate")
    return value
