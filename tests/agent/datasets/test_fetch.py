"""Fetching Banking77 on first use, against a local server serving generated files."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agent.config import Settings
from agent.datasets import DatasetUnavailableError, ensure_banking77, read_split
from agent.datasets.banking77 import FILES, SHA256, SOURCE_COMMIT
from tests.agent.datasets.conftest import FileServer, digests


def settings_for(tmp_path: Path, url: str) -> Settings:
    return Settings(datasets_dir=tmp_path / "datasets", banking77_url=url)


def leftovers(root: Path) -> list[str]:
    """Files in ``root`` other than the lock: partial downloads would show here."""
    return sorted(p.name for p in root.iterdir() if p.name != ".fetch.lock")


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/data"


def test_first_use_fetches_the_files_and_later_uses_read_them_from_disk(
    tmp_path: Path, file_server: FileServer, files: dict[str, bytes]
) -> None:
    settings = settings_for(tmp_path, file_server.url)
    root = ensure_banking77(settings=settings, checksums=digests(files))
    assert root == tmp_path / "datasets" / "banking77"
    assert {n: (root / n).read_bytes() for n in FILES} == files
    assert all((root / n).stat().st_mode & 0o777 == 0o644 for n in FILES)
    assert sorted(file_server.requests) == sorted(FILES)
    assert len(read_split("train", root=root)) == 13
    ensure_banking77(settings=settings, checksums=digests(files))
    assert len(file_server.requests) == 3  # nothing fetched twice


def test_only_missing_files_are_fetched(
    tmp_path: Path, file_server: FileServer, files: dict[str, bytes]
) -> None:
    root = tmp_path / "datasets" / "banking77"
    root.mkdir(parents=True)
    (root / "train.csv").write_bytes(files["train.csv"])
    ensure_banking77(settings=settings_for(tmp_path, file_server.url), checksums=digests(files))
    assert sorted(file_server.requests) == ["categories.json", "test.csv"]


def test_offline_gives_a_clear_error_and_leaves_no_partial_files(tmp_path: Path) -> None:
    url = closed_port_url()
    with pytest.raises(DatasetUnavailableError) as caught:
        ensure_banking77(settings=settings_for(tmp_path, url))
    message = str(caught.value)
    root = tmp_path / "datasets" / "banking77"
    assert f"Banking77 is not in {root}" in message
    assert url in message and "network error" in message
    assert "train.csv, test.csv, categories.json" in message
    assert leftovers(root) == []


def test_http_error_names_the_status_and_keeps_the_files_already_verified(
    tmp_path: Path, file_server: FileServer, files: dict[str, bytes]
) -> None:
    file_server.missing.add("test.csv")
    settings = settings_for(tmp_path, file_server.url)
    with pytest.raises(DatasetUnavailableError, match="HTTP 404"):
        ensure_banking77(settings=settings, checksums=digests(files))
    root = tmp_path / "datasets" / "banking77"
    assert leftovers(root) == ["train.csv"]  # fetched in FILES order; test.csv failed
    file_server.missing.clear()
    ensure_banking77(settings=settings, checksums=digests(files))
    assert leftovers(root) == sorted(FILES)


def test_a_file_that_differs_from_its_pinned_digest_is_rejected(
    tmp_path: Path, file_server: FileServer
) -> None:
    # The generated files are not Banking77, so the pinned digests must reject them.
    with pytest.raises(DatasetUnavailableError, match="expected " + SHA256["train.csv"]):
        ensure_banking77(settings=settings_for(tmp_path, file_server.url))
    assert leftovers(tmp_path / "datasets" / "banking77") == []


def test_a_download_cut_short_is_an_error_not_a_short_file(
    tmp_path: Path, file_server: FileServer
) -> None:
    file_server.truncated.add("train.csv")
    with pytest.raises(DatasetUnavailableError, match="network error"):
        ensure_banking77(settings=settings_for(tmp_path, file_server.url), checksums=None)
    assert leftovers(tmp_path / "datasets" / "banking77") == []


def test_default_source_is_the_pinned_upstream_commit() -> None:
    url = Settings.model_fields["banking77_url"].default
    assert url.startswith("https://raw.githubusercontent.com/PolyAI-LDN/task-specific-datasets/")
    assert url.endswith(f"/{SOURCE_COMMIT}/banking_data")
    assert set(SHA256) == set(FILES)
