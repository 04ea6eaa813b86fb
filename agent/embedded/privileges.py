"""Running the embedded Postgres as an unprivileged user when ticketwatch runs as root.

Postgres refuses to run as root. When ticketwatch itself runs as root (containers, CI), the
embedded server runs as the system user ``ticketwatch`` (created with ``useradd --system`` if
missing, no home, no login shell), owns its data directory, and gets execute (traverse-only)
permission on the parent directories of its binaries and data. Every change is logged.
Running ticketwatch as an ordinary user needs none of this.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SERVICE_USER = "ticketwatch"


@dataclass(frozen=True)
class RunAs:
    """The account a server process runs as; ``None`` fields mean the current user."""

    uid: int | None = None
    gid: int | None = None
    name: str | None = None

    @property
    def is_current_user(self) -> bool:
        return self.uid is None


def service_account() -> RunAs:
    """The current user, or the ``ticketwatch`` system user when running as root."""
    if os.geteuid() != 0:
        return RunAs()
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        log.warning("creating system user %r to run the embedded Postgres", SERVICE_USER)
        subprocess.run(
            [
                useradd,
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        entry = pwd.getpwnam(SERVICE_USER)
    return RunAs(uid=entry.pw_uid, gid=entry.pw_gid, name=SERVICE_USER)


def grant_traversal(path: Path, account: RunAs) -> None:
    """Let ``account`` reach ``path``: add o+x to each ancestor directory that lacks it."""
    if account.is_current_user:
        return
    for parent in reversed(path.resolve().parents):
        st = parent.stat()
        if st.st_uid == account.uid or st.st_mode & stat.S_IXOTH:
            continue
        parent.chmod(st.st_mode | stat.S_IXOTH)
        log.warning("granted traverse permission (o+x) on %s for user %s", parent, account.name)


def give_to(path: Path, account: RunAs, mode: int = 0o700) -> None:
    """Create ``path`` if needed, owned by ``account`` with ``mode``."""
    path.mkdir(parents=True, exist_ok=True)
    if not account.is_current_user:
        assert account.uid is not None and account.gid is not None
        os.chown(path, account.uid, account.gid)
    path.chmod(mode)
