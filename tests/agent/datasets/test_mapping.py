"""Reading helpdesk exports: column maps, presets, priority maps, dialects and bad input."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.datasets.export_csv import MAX_TEXT_CHARS, sniff_delimiter
from agent.datasets.mapping import (
    ExportFormatError,
    export_format,
    parse_column_map,
    parse_priority_map,
)
from agent.datasets.records import LabelledFileError, read_labelled_file
from agent.taxonomy import Taxonomy
from evals.golden.sources import read_source
from tests.agent.datasets.exports import PRESET_NAMES, tickets, write_export

MAP = "text=Subject+Description,queue=Assignment group,priority=Priority,external_id=Ticket ID"


def problems(path: Path, **kw: object) -> list[str]:
    with pytest.raises(LabelledFileError) as caught:
        read_labelled_file(path, **kw)  # type: ignore[arg-type]
    return [str(e) for e in caught.value.errors]


def test_a_column_map_joins_columns_and_keeps_commas_in_names() -> None:
    cols = parse_column_map("text=Subject+Description?, queue=Group, Team,priority=Prio")
    assert [(c.name, c.optional) for c in cols["text"]] == [
        ("Subject", False),
        ("Description", True),
    ]
    assert [c.name for c in cols["queue"]] == ["Group, Team"]
    assert [c.name for c in cols["priority"]] == ["Prio"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("text=A,colour=B", "is not FIELD=Column"),
        ("text=A,text=B", "names text twice"),
        ("text=A+,queue=B", "empty column name"),
        ("text=A,queue=B+C", "only text may join several columns"),
    ],
)
def test_a_bad_column_map_says_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ExportFormatError, match=message):
        parse_column_map(spec)


def test_fields_the_map_leaves_out_are_read_from_their_own_columns(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("Subject,queue,priority\nhello,billing,High\n", encoding="utf-8")
    (record,) = read_labelled_file(path, export=export_format(column_map="text=Subject"))
    assert (record.text, record.queue, record.priority) == ("hello", "billing", "P2")
    path.write_text("Subject,Group\nhello,billing\n", encoding="utf-8")
    assert problems(path, export=export_format(column_map="text=Subject")) == [
        f"{path}:1: column 'queue': no column 'queue' for queue; the header has 'Subject', 'Group'"
    ]


def test_priorities_common_spellings_and_a_priority_map() -> None:
    fmt = export_format(column_map="text=a,queue=b", priority_map="Sev A=P1, sev b = p2")
    assert fmt is not None
    expected = {
        "Urgent": "P1",
        "critical": "P1",
        "High": "P2",
        "Normal": "P3",
        "medium": "P3",
        "Low": "P4",
        "1": "P1",
        "4": "P4",
        "p2": "P2",
        "1 - Critical": "P1",
        "3 - Moderate": "P3",
        "SEV  a": "P1",
        "Sev B": "P2",
    }
    assert {v: fmt.priority(v) for v in expected} == expected
    assert fmt.priority("5") is None and fmt.priority("Blocker-ish") is None


def test_freshdesk_numbers_priorities_upwards_and_servicenow_has_a_planning_level() -> None:
    fresh, snow = export_format(preset="freshdesk"), export_format(preset="servicenow")
    assert fresh is not None and snow is not None
    assert [fresh.priority(str(n)) for n in (1, 2, 3, 4)] == ["P4", "P3", "P2", "P1"]
    assert [snow.priority(v) for v in ("1 - Critical", "5 - Planning")] == ["P1", "P4"]


def test_a_bad_priority_map_preset_or_timezone_is_refused() -> None:
    with pytest.raises(ExportFormatError, match="maps to 'P5'"):
        parse_priority_map("Trivial=P5")
    with pytest.raises(ExportFormatError, match="is not VALUE=P1..P4"):
        parse_priority_map("P1")
    with pytest.raises(ExportFormatError, match="unknown preset 'salesforce'"):
        export_format(preset="salesforce")
    with pytest.raises(ExportFormatError, match="unknown time zone"):
        export_format(preset="jira", timezone="Mars/Olympus")


def test_the_delimiter_is_sniffed() -> None:
    assert sniff_delimiter("a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter("a,b\n") == ","
    assert sniff_delimiter("a\tb\tc\n") == "\t"
    assert sniff_delimiter("text\n") == ","


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_each_preset_reads_its_export_shape(
    tmp_path: Path, preset: str, caplog: pytest.LogCaptureFixture
) -> None:
    rows = tickets(preset, per_queue=3, seed=1)
    path = write_export(tmp_path / f"{preset}.csv", preset, rows)
    fmt = export_format(preset=preset, timezone="UTC")
    with caplog.at_level(logging.WARNING, logger="agent.datasets.export_csv"):
        records = read_labelled_file(path, export=fmt)
    assert [r.external_id for r in records] == [t.id for t in rows]
    assert [r.queue for r in records] == [t.label for t in rows]  # no taxonomy: the label
    assert [r.priority for r in records] == [t.priority for t in rows]
    with_description = preset != "zendesk"  # its CSV export leaves the description out
    assert [r.text for r in records] == [
        f"{t.subject}\n{t.description}" if with_description else t.subject for t in rows
    ]
    # Jira's export has minutes, the others seconds; all are UTC here.
    stamps = [r.timestamp for r in records]
    assert all(s is not None and s.utcoffset() is not None for s in stamps)
    assert [s.astimezone(UTC).replace(second=0) for s in stamps if s] == [
        t.created.replace(second=0) for t in rows
    ]
    # ServiceNow's is cp1252 (a warning says so); the others are UTF-8, Zendesk with a BOM.
    warned = [r.getMessage() for r in caplog.records]
    assert bool(warned) == (preset == "servicenow")
    if preset == "servicenow":
        assert "read as cp1252" in warned[0]
        assert any("café" in r.text for r in records)


def test_export_labels_route_through_the_taxonomys_intents(tmp_path: Path) -> None:
    taxonomy = Taxonomy.model_validate(
        {
            "name": "it",
            "version": "1",
            "queues": [
                {"name": "billing", "description": "d", "intents": ["Billing & Payments"]},
                {
                    "name": "network_vpn",
                    "display_name": "Network / VPN",
                    "description": "d",
                    "intents": ["Network / VPN"],
                },
            ],
            "priorities": [
                {"name": f"P{i}", "description": "d", "target_first_response": "1h"}
                for i in range(1, 5)
            ],
            "default_priority": {"network_vpn": "P2"},
        }
    )
    path = tmp_path / "e.csv"
    path.write_text(
        "Subject,Assignment group,Priority\n"
        "refund please,Billing & Payments,Low\n"
        "vpn down,Network / VPN,\n"
        "hi,billing,Urgent\n"
        "wifi,network_vpn,\n"
        "printer,Hardware,Low\n",
        encoding="utf-8",
    )
    fmt = export_format(column_map="text=Subject,queue=Assignment group,priority=Priority")
    assert problems(path, taxonomy=taxonomy, export=fmt) == [
        f"{path}:6: column 'Assignment group': unknown queue 'Hardware' in taxonomy it 1"
    ]
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")
    records = read_labelled_file(path, taxonomy=taxonomy, export=fmt)
    assert [(r.queue, r.priority, r.intent) for r in records] == [
        ("billing", "P4", "Billing & Payments"),
        ("network_vpn", "P2", "Network / VPN"),  # no priority: the queue's default
        ("billing", "P1", None),
        ("network_vpn", "P2", None),  # a queue's own name, no priority: its default
    ]


def test_bad_input_names_file_line_and_column_and_nothing_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    long_text = "word " * 40_000  # a 200,000-character ticket
    path.write_text(
        "Ticket ID;Subject;Description;Assignment group;Priority\n"
        "1;fine;ok;Desk;High\n"
        '2;;"";Desk;High\n'
        "3;printer;jam;Desk;Whenever\n"
        f'4;long;"{long_text}";Desk;Low\n'
        "5;junk \x07\x01;x;Desk;Low\n"
        "6;no group;x;;Low\n"
        "7;short row\n",
        encoding="utf-8",
    )
    found = problems(path, export=export_format(column_map=MAP))
    assert found == [
        f"{path}:3: column 'Subject'+'Description': is empty: every ticket needs its text",
        f"{path}:4: column 'Priority': unknown priority 'Whenever': give --priority-map "
        "'Whenever=P2' (common spellings: Urgent/High/Normal/Low, Critical, 1-4, P1-P4)",
        f"{path}:5: column 'Description': is {len(long_text.strip()):,} characters long; a "
        f"ticket has at most {MAX_TEXT_CHARS:,}",
        f"{path}:6: column 'Subject': binary data: control character U+0007 at character 6",
        f"{path}:7: column 'Assignment group': is empty: every ticket needs its queue",
        f"{path}:8: has 2 columns, the header has 5",
    ]


def test_missing_columns_are_named_with_the_header(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("ticket id,subject,Group\n1,a,b\n", encoding="utf-8")
    found = problems(path, export=export_format(preset="freshdesk"))
    assert found == [
        f"{path}:1: column 'Subject': no column 'Subject' for text (did you mean 'subject'? "
        "names are case-sensitive); the header has 'ticket id', 'subject', 'Group'"
    ]


def test_binary_files_and_a_map_on_jsonl_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(b"Subject,Group\nok,a\n\x89PNG\x00\x01\x02,b\n")
    assert problems(path, export=export_format(preset="zendesk")) == [
        f"{path}:3: binary data (NUL byte) at character 5"
    ]
    assert problems(path) == [f"{path}:3: binary data (NUL byte) at character 5"]
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"text": "a", "queue": "b", "priority": "P1"}\n')
    with pytest.raises(ValueError, match="reads CSV exports"):
        read_labelled_file(jsonl, export=export_format(preset="jira"))


def test_timestamps_without_an_offset_need_a_timezone(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "Subject,Group,Priority,Created time\na,b,Low,2026-11-02 09:30:00\n", encoding="utf-8"
    )
    assert problems(path, export=export_format(preset="freshdesk")) == [
        f"{path}:2: column 'Created time': '2026-11-02 09:30:00' has no UTC offset: give "
        "--timezone (the helpdesk's time zone, e.g. UTC or Europe/Paris)"
    ]
    fmt = export_format(preset="freshdesk", timezone="Europe/Paris")
    (record,) = read_labelled_file(path, export=fmt)
    assert record.timestamp == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


def test_plain_labelled_csv_gets_the_dialects_too(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    text = 'text;queue;priority\n"Caf\xe9 card\nstill blocked";billing;P2\n'
    path.write_bytes(text.encode("cp1252"))  # a European Excel: cp1252 and semicolons
    (record,) = read_labelled_file(path)
    assert (record.text, record.queue, record.priority) == (
        "Café card\nstill blocked",
        "billing",
        "P2",
    )
    path.write_text(f"text,queue,priority\n{'x' * (MAX_TEXT_CHARS + 1)},billing,P2\n")
    assert problems(path) == [
        f"{path}:2: text: is {MAX_TEXT_CHARS + 1:,} characters long; a ticket has at most "
        f"{MAX_TEXT_CHARS:,}"
    ]


def test_a_golden_export_may_route_a_case_to_a_person(tmp_path: Path) -> None:
    taxonomy = Taxonomy.model_validate(
        {
            "name": "it",
            "version": "1",
            "queues": [{"name": "billing", "description": "d", "intents": ["Billing"]}],
            "priorities": [
                {"name": f"P{i}", "description": "d", "target_first_response": "1h"}
                for i in range(1, 5)
            ],
        }
    )
    path = tmp_path / "golden.csv"
    path.write_text(
        "Subject,Group,Priority\nrefund twice,Billing,High\nwhat is the weather,human_triage,\n",
        encoding="utf-8",
    )
    cases = read_source(str(path), taxonomy, export=export_format(preset="zendesk"))
    assert [(c.queue, c.priority, c.to_person) for c in cases] == [
        ("billing", "P2", False),
        ("human_triage", None, True),
    ]


def test_an_unterminated_quote_is_named_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    # The open quote swallows the rest of the file into one field: one row, 1 column.
    path.write_text('text,queue,priority\nok,billing,P1\n"open quote,billing,P1\nb,c,P2\n')
    for fmt in (None, export_format(column_map="text=text,queue=queue")):
        assert problems(path, export=fmt) == [f"{path}:3: has 1 columns, the header has 3"]
