"""A team's own labelled files: reading CSV/JSONL with clear errors, and writing JSONL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from agent.datasets import (
    LabelledFileError,
    LabelledTicket,
    read_labelled_file,
    write_labelled_jsonl,
)
from agent.taxonomy import Taxonomy

FULL = LabelledTicket(
    text="Ma carte a été avalée par le distributeur 💳, help",
    queue="deliveries",
    priority="P2",
    intent="parcel_late",
    timestamp=datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=1))),
    external_id="T-1",
    channel="email",
    customer_id="C-9",
)
BARE = LabelledTicket(text="where is my parcel", queue="billing", priority="P4")


def problems(path: Path, taxonomy: Taxonomy | None = None) -> list[str]:
    with pytest.raises(LabelledFileError) as caught:
        read_labelled_file(path, taxonomy=taxonomy)
    return [str(e) for e in caught.value.errors]


def test_jsonl_round_trips_every_field(tmp_path: Path, taxonomy: Taxonomy) -> None:
    path = tmp_path / "out" / "labelled.jsonl"
    assert write_labelled_jsonl([FULL, BARE], path) == 2
    assert read_labelled_file(path, taxonomy=taxonomy) == [FULL, BARE]
    assert json.loads(path.read_text().splitlines()[1]) == {
        "text": "where is my parcel",
        "queue": "billing",
        "priority": "P4",
    }


def test_csv_with_bom_optional_columns_and_multiline_text(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "\ufefftext,queue,priority,timestamp,channel,external_id\n"
        '"two\nlines",access,P1,2026-11-02T09:30:00Z,chat,7\n'
        "plain,billing,P4,,,\n",
        encoding="utf-8",
    )
    first, second = read_labelled_file(path)
    assert first.text == "two\nlines" and first.channel == "chat" and first.external_id == "7"
    assert first.timestamp == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    assert second == LabelledTicket(text="plain", queue="billing", priority="P4")


def test_csv_errors_name_the_line_after_a_multiline_row(tmp_path: Path, taxonomy: Taxonomy) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "text,queue,priority,timestamp\n"
        '"spans\nthree\nlines",access,P1,\n'
        ",access,P2,\n"
        "hello,sales,P9,2026-11-02 10:00\n"
        "hello,billing,P3,yesterday\n"
        "too,many,cells,here,extra\n",
        encoding="utf-8",
    )
    assert problems(path, taxonomy) == [
        f"{path}:5: text: is required",
        f"{path}:6: queue: unknown queue 'sales' in taxonomy generated 1",
        f"{path}:6: priority: unknown priority 'P9'; expected one of P1, P2, P3, P4",
        f"{path}:6: timestamp: '2026-11-02 10:00' has no UTC offset "
        "(write e.g. 2026-11-02T09:30:00Z)",
        f"{path}:7: timestamp: 'yesterday' is not an ISO 8601 date-time",
        f"{path}:8: has 5 columns, the header has 4",
    ]


def test_jsonl_errors_name_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [
        json.dumps({"text": "ok", "queue": "access", "priority": "P1", "external_id": "A"}),
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"text": "x", "queue": "access", "priority": 1}),
        json.dumps({"text": "x", "queue": "access", "priority": "P1", "priorty": "P2"}),
        json.dumps({"text": "again", "queue": "access", "priority": "P2", "external_id": "A"}),
        json.dumps({"text": "x", "priority": "P2"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = problems(path)
    assert found[0].startswith(f"{path}:3: invalid JSON")
    assert found[1:] == [
        f"{path}:4: expected a JSON object",
        f"{path}:5: priority: must be a string, got int",
        f"{path}:6: unknown field(s) 'priorty'; allowed: text, queue, priority, intent, "
        "timestamp, external_id, channel, customer_id",
        f"{path}:7: external_id: duplicate of line 1",
        f"{path}:8: queue: is required",
    ]


def test_file_level_problems(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert problems(empty) == [f"{empty}:1: empty file: expected a header row"]
    header = tmp_path / "header.csv"
    header.write_text("text,queue\nhi,billing\n")
    assert problems(header) == [f"{header}:2: priority: is required"]
    binary = tmp_path / "latin1.jsonl"
    binary.write_bytes(b'{"text": "ok", "queue": "a", "priority": "P1"}\n{"text": "caf\xe9"}\n')
    assert problems(binary) == [f"{binary}:2: not valid UTF-8"]
    with pytest.raises(ValueError, match="unsupported labelled file type '.xlsx'"):
        read_labelled_file(tmp_path / "tickets.xlsx")


def test_error_message_lists_the_first_problems_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("text,queue,priority\n" + "x,billing,P0\n" * 25)
    with pytest.raises(LabelledFileError) as caught:
        read_labelled_file(path)
    message = str(caught.value)
    assert message.startswith("25 problem(s) in labelled file:")
    assert f"{path}:21: priority" in message and f"{path}:22: priority" not in message
    assert message.endswith("... and 5 more")


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    write_labelled_jsonl([BARE], path)

    def broken() -> Iterator[LabelledTicket]:
        yield FULL
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        write_labelled_jsonl(broken(), path)
    assert read_labelled_file(path) == [BARE]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labelled.jsonl"]
