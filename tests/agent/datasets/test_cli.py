"""``ticketwatch datasets prepare|fetch`` through the root CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.config import get_settings
from agent.datasets import read_labelled_file
from agent.taxonomy import Taxonomy

runner = CliRunner()


@pytest.fixture
def env(
    tmp_path: Path, dataset_dir: Path, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Settings pointing at the generated dataset and a fresh data directory; the generated
    taxonomy is at ``<tmp>/generated.yaml``."""
    monkeypatch.setenv("TICKETWATCH_DATASETS_DIR", str(dataset_dir.parent))
    monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TICKETWATCH_BANKING77_URL", "http://127.0.0.1:9/unreachable")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_prepare_writes_labelled_jsonl_and_counts_per_queue(env: Path, taxonomy: Taxonomy) -> None:
    out = env / "prepared" / "train.jsonl"
    args = ["datasets", "prepare", "banking77", "--split", "train", "--out", str(out)]
    result = runner.invoke(app, [*args, "--taxonomy", str(env / "generated.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["records"] == 13 and summary["taxonomy"] == "generated 1"
    assert summary["queues"] == {"deliveries": 6, "access": 4, "billing": 3}
    assert summary["priorities"] == {"P1": 4, "P2": 0, "P3": 6, "P4": 3}
    records = read_labelled_file(out, taxonomy=taxonomy)
    assert [r.intent for r in records[:4]] == [
        "parcel_late",
        "parcel_damaged",
        "login_failed",
        "invoice_question",
    ]


def test_prepare_defaults_to_the_data_directory_and_prints_a_table(env: Path) -> None:
    args = ["datasets", "prepare", "banking77", "--split", "test"]
    result = runner.invoke(app, [*args, "--taxonomy", str(env / "generated.yaml")])
    assert result.exit_code == 0, result.output
    assert (env / "data" / "datasets" / "banking77-test.jsonl").is_file()
    assert "deliveries" in result.stdout and "P1 1 (25.0%)" in result.stdout


def test_prepare_reports_an_unknown_taxonomy_without_a_traceback(env: Path) -> None:
    result = runner.invoke(app, ["datasets", "prepare", "banking77", "--taxonomy", "nope"])
    assert result.exit_code == 1
    assert "taxonomy file not found" in result.stderr


def test_fetch_reports_an_unreachable_source(env: Path, dataset_dir: Path) -> None:
    (dataset_dir / "test.csv").unlink()
    result = runner.invoke(app, ["datasets", "fetch", "banking77"])
    assert result.exit_code == 1
    assert "could not be fetched from http://127.0.0.1:9/unreachable" in result.stderr
