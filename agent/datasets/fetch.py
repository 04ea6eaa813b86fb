"""Fetching a public dataset's files once: verified, atomic, and safe against concurrent runs.

Each file is streamed into a temporary file beside its destination, checked against its
pinned SHA-256, then renamed into place, so a reader never sees a partial or corrupt file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import filelock
import httpx

MAX_FILE_BYTES = 64 * 1024 * 1024
LOCK_TIMEOUT_S = 600.0


class DatasetUnavailableError(RuntimeError):
    """A dataset is not on disk and could not be fetched."""


def fetch_files(
    *,
    what: str,
    base_url: str,
    names: Sequence[str],
    dest: Path,
    checksums: Mapping[str, str] | None,
    timeout_s: float = 60.0,
) -> None:
    """Download ``base_url/<name>`` into ``dest/<name>`` for each name not already there.

    ``checksums`` maps names to SHA-256 hex digests; a file whose digest differs is rejected.
    Raises ``DatasetUnavailableError`` with what to do when the source cannot be reached.
    """
    try:
        dest.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(dest / ".fetch.lock", timeout=LOCK_TIMEOUT_S):
            missing = [n for n in names if not (dest / n).is_file()]
            if not missing:
                return  # another process fetched them while we waited for the lock
            with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
                for name in missing:
                    expected = (checksums or {}).get(name)
                    _download(client, f"{base_url.rstrip('/')}/{name}", dest / name, expected)
    except (httpx.HTTPError, OSError, filelock.Timeout, _BadDownloadError) as exc:
        raise DatasetUnavailableError(_advice(what, base_url, names, dest, exc)) from exc


class _BadDownloadError(Exception):
    pass


def _download(client: httpx.Client, url: str, target: Path, sha256: str | None) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out, client.stream("GET", url) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise _BadDownloadError(f"{url} is larger than {MAX_FILE_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise _BadDownloadError(
                f"{url} has SHA-256 {digest.hexdigest()}, expected {sha256} "
                "(the source changed or the download was tampered with)"
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these are ordinary data files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _advice(what: str, base_url: str, names: Sequence[str], dest: Path, exc: BaseException) -> str:
    reason = _reason(exc)
    files = ", ".join(names)
    return (
        f"{what} is not in {dest} and could not be fetched from {base_url}: {reason}. "
        f"On a machine with network access, download {files} from that address into {dest} "
        "(or point TICKETWATCH_DATASETS_DIR at a directory that holds them)."
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} for {exc.request.url}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.TransportError):
        return f"network error ({type(exc).__name__}: {exc})"
    if isinstance(exc, filelock.Timeout):
        return f"another process has held {exc.lock_file} for over {LOCK_TIMEOUT_S:.0f} s"
    return str(exc)
