"""Golden sets: canonical content hash, reading and sources, the content-addressed store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psycopg
import pytest

from agent.datasets.records import LabelledFileError
from agent.taxonomy import Taxonomy
from evals.errors import EvalSetupError
from evals.golden import build_golden_set, content_hash, find_golden_set, load_cases
from evals.golden.cases import GoldenCase, file_hash, read_golden, write_golden
from evals.golden.sources import default_name, per_queue_sample, read_source
from evals.golden.store import golden_dir
from tests.asyncdb import session_for

CASES = [
    GoldenCase("my card has not arrived", "card_orders", "P3", ("intent:card_arrival",)),
    GoldenCase("ich wurde zweimal belastet", "card_usage", "P2", ("b", "a", "a")),
]


def test_the_content_hash_is_the_sha256_of_the_canonical_file(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    digest = write_golden(CASES, path)
    assert digest == content_hash(CASES) == file_hash(path)
    assert read_golden(path) == CASES
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1]) == {
        "priority": "P2",
        "queue": "card_usage",
        "tags": ["a", "b"],
        "text": "ich wurde zweimal belastet",
    }


def test_the_hash_ignores_tag_order_but_not_content_or_case_order() -> None:
    same = [CASES[0], GoldenCase(CASES[1].text, "card_usage", "P2", ("a", "b"))]
    assert content_hash(same) == content_hash(CASES)
    assert content_hash(CASES[::-1]) != content_hash(CASES)
    relabelled = [CASES[0], GoldenCase(CASES[1].text, "card_usage", "P1", ("a", "b"))]
    assert content_hash(relabelled) != content_hash(CASES)


def test_reading_golden_jsonl_reports_every_bad_row(tmp_path: Path, taxonomy: Taxonomy) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"text": "ok", "queue": "card_orders", "priority": "P1", "tags": []}\n'
        '{"text": "x", "queue": "no_such_queue", "priority": "P1"}\n'
        '{"text": "y", "queue": "card_orders", "priority": "P9", "tags": [1]}\n'
        "not json\n",
        encoding="utf-8",
    )
    with pytest.raises(LabelledFileError) as info:
        read_golden(path, taxonomy=taxonomy)
    messages = [str(e) for e in info.value.errors]
    assert len(messages) == 3
    assert "bad.jsonl:2: queue: unknown queue 'no_such_queue'" in messages[0]
    assert ":3: tags:" in messages[1] and ":4: invalid JSON" in messages[2]


def test_a_labelled_csv_becomes_cases_with_provenance_tags(
    tmp_path: Path, taxonomy: Taxonomy
) -> None:
    path = tmp_path / "team-labels.csv"
    path.write_text(
        "text,queue,priority,intent,channel,external_id\n"
        "Where is my card?,card_orders,P3,card_arrival,email,T-1\n",
        encoding="utf-8",
    )
    [case] = read_source(str(path), taxonomy)
    assert case.tags == ("channel:email", "id:T-1", "intent:card_arrival")
    assert case.tag("channel") == "email"
    assert default_name(str(path)) == "team-labels"


def test_golden_jsonl_is_read_as_such(tmp_path: Path, taxonomy: Taxonomy) -> None:
    path = tmp_path / "candidates.jsonl"
    write_golden(CASES, path)
    assert read_source(str(path), taxonomy) == CASES


def test_the_banking77_test_split_is_routed_by_the_taxonomy(taxonomy: Taxonomy) -> None:
    cases = read_source("banking77:test", taxonomy)
    assert len(cases) == 3080
    assert {c.queue for c in cases} == set(taxonomy.queue_names)
    first = cases[0]
    intent = first.tag("intent")
    assert intent is not None and (first.queue, first.priority) == taxonomy.route_for_intent(intent)
    assert first.tag("id") == "banking77:test:1"
    assert default_name("banking77:test") == "banking77-test"
    with pytest.raises(ValueError, match="unknown Banking77 split"):
        read_source("banking77:dev", taxonomy)


def test_per_queue_sampling_is_stratified_seeded_and_keeps_file_order(
    taxonomy: Taxonomy,
) -> None:
    cases = read_source("banking77:test", taxonomy)
    sample = per_queue_sample(cases, 5, seed=1)
    assert len(sample) == 5 * len(taxonomy.queue_names)
    assert all(sum(c.queue == q for c in sample) == 5 for q in taxonomy.queue_names)
    positions = [cases.index(c) for c in sample]
    assert positions == sorted(positions)
    assert per_queue_sample(cases, 5, seed=1) == sample
    assert per_queue_sample(cases, 5, seed=2) != sample


def _build(
    url: str, data_dir: Path, taxonomy: Taxonomy, cases: list[GoldenCase], version: str = "1"
):  # type: ignore[no-untyped-def]
    async def body():  # type: ignore[no-untyped-def]
        async with session_for(url) as session:
            return await build_golden_set(
                session,
                data_dir=data_dir,
                name="team",
                version=version,
                cases=cases,
                taxonomy=taxonomy,
                source="tests",
                created_by="tests",
            )

    return asyncio.run(body())


def test_building_is_content_addressed_and_idempotent(
    fresh_db_url: str, tmp_path: Path, taxonomy: Taxonomy
) -> None:
    first = _build(fresh_db_url, tmp_path, taxonomy, CASES)
    assert first.created
    assert first.path == golden_dir(tmp_path) / f"team-1-{content_hash(CASES)[:12]}.jsonl"
    assert first.row.content_hash == file_hash(first.path)
    assert first.row.n_cases == 2 and first.row.taxonomy == f"banking77@{taxonomy.version}"
    again = _build(fresh_db_url, tmp_path, taxonomy, CASES)
    assert not again.created and not again.restored_file and again.row.id == first.row.id
    first.path.unlink()  # a lost data directory: building again restores the file
    restored = _build(fresh_db_url, tmp_path, taxonomy, CASES)
    assert restored.restored_file and file_hash(restored.path) == first.row.content_hash
    with psycopg.connect(fresh_db_url) as conn:  # the build is audited once, not its rebuilds
        audited = conn.execute(
            "SELECT actor, action, target, details->>'content_hash', details->>'cases' "
            "FROM audit_log WHERE action LIKE 'golden.%%'"
        ).fetchall()
    assert audited == [("tests", "golden.build", "team@1", content_hash(CASES), "2")]


def test_other_cases_under_a_taken_version_are_refused(
    fresh_db_url: str, tmp_path: Path, taxonomy: Taxonomy
) -> None:
    _build(fresh_db_url, tmp_path, taxonomy, CASES)
    with pytest.raises(EvalSetupError, match="never change.*new --version"):
        _build(fresh_db_url, tmp_path, taxonomy, CASES[:1])
    second = _build(fresh_db_url, tmp_path, taxonomy, CASES[:1], version="2")
    assert second.created and second.path.is_file()


def test_finding_and_loading_checks_the_file(
    fresh_db_url: str, tmp_path: Path, taxonomy: Taxonomy
) -> None:
    built = _build(fresh_db_url, tmp_path, taxonomy, CASES)
    _build(fresh_db_url, tmp_path, taxonomy, CASES[:1], version="2")

    async def find(ref: str | None):  # type: ignore[no-untyped-def]
        async with session_for(fresh_db_url) as session:
            return await find_golden_set(session, ref)

    assert asyncio.run(find("team@1")).id == built.row.id
    assert asyncio.run(find("team")).version == "2"  # the latest
    with pytest.raises(EvalSetupError, match="run `ticketwatch eval build-golden`"):
        asyncio.run(find(None))  # the default set was never built here
    assert load_cases(built.row, tmp_path) == CASES
    built.path.write_text(built.path.read_text().replace("P3", "P1"))
    with pytest.raises(EvalSetupError, match="was changed after"):
        load_cases(built.row, tmp_path)
    built.path.unlink()
    with pytest.raises(EvalSetupError, match="is missing"):
        load_cases(built.row, tmp_path)


def test_a_persons_case_round_trips_with_a_null_priority(
    tmp_path: Path, taxonomy: Taxonomy
) -> None:
    cases = [*CASES, GoldenCase("what is the capital of peru", "human_triage", None, ("oos",))]
    path = tmp_path / "with-oos.jsonl"
    digest = write_golden(cases, path)
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[2]) == {
        "priority": None,
        "queue": "human_triage",
        "tags": ["oos"],
        "text": "what is the capital of peru",
    }
    assert read_golden(path, taxonomy=taxonomy) == cases
    assert read_source(str(path), taxonomy) == cases and digest == content_hash(cases)
    assert cases[2].to_person and not cases[0].to_person


def test_labelled_files_accept_human_triage_with_or_without_a_priority(
    tmp_path: Path, taxonomy: Taxonomy
) -> None:
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text(
        "text,queue,priority,intent\n"
        "Where is my card?,card_orders,P3,card_arrival\n"
        "Tell me a joke,human_triage,,out_of_scope\n"
        "Book me a flight,human_triage,P2,\n",
        encoding="utf-8",
    )
    cases = read_source(str(csv_path), taxonomy)
    assert [(c.queue, c.priority) for c in cases] == [
        ("card_orders", "P3"),
        ("human_triage", None),
        ("human_triage", "P2"),
    ]
    assert cases[1].tag("intent") == "out_of_scope"
    jsonl_path = tmp_path / "labels.jsonl"
    jsonl_path.write_text(
        '{"text": "Tell me a joke", "queue": "human_triage", "priority": null}\n'
        '{"text": "Sing a song", "queue": "human_triage"}\n',
        encoding="utf-8",
    )
    assert [c.priority for c in read_source(str(jsonl_path), taxonomy)] == [None, None]


def test_unknown_queues_and_missing_priorities_are_still_refused(
    tmp_path: Path, taxonomy: Taxonomy
) -> None:
    path = tmp_path / "bad-labels.csv"
    path.write_text(
        "text,queue,priority\n"
        "a,human_triag,P3\n"  # a misspelt reserved name is an unknown queue
        "b,card_orders,\n"  # a queue's case needs its priority
        "c,human_triage,P7\n",  # a person's case may omit its priority, not garble it
        encoding="utf-8",
    )
    with pytest.raises(LabelledFileError) as info:
        read_source(str(path), taxonomy)
    messages = [str(e) for e in info.value.errors]
    assert len(messages) == 3
    assert "bad-labels.csv:2: queue: unknown queue 'human_triag'" in messages[0]
    assert "(or human_triage)" in messages[0]
    assert "bad-labels.csv:3: priority: is required" in messages[1]
    assert "bad-labels.csv:4: priority: unknown priority 'P7'" in messages[2]
    golden = tmp_path / "bad.jsonl"
    golden.write_text(
        '{"text": "x", "queue": "humans", "priority": "P3", "tags": []}\n'
        '{"text": "y", "queue": "card_orders", "priority": null, "tags": []}\n'
        '{"text": "z", "queue": "human_triage", "priority": 3, "tags": []}\n',
        encoding="utf-8",
    )
    with pytest.raises(LabelledFileError) as info:
        read_golden(golden, taxonomy=taxonomy)
    messages = [str(e) for e in info.value.errors]
    assert "bad.jsonl:1: queue: unknown queue 'humans'" in messages[0]
    assert "(or human_triage)" in messages[0]
    assert "bad.jsonl:2: priority: is required" in messages[1]
    assert "bad.jsonl:3: priority: must be a string or null" in messages[2]


def test_a_set_with_a_persons_cases_is_stored_and_loaded(
    fresh_db_url: str, tmp_path: Path, taxonomy: Taxonomy
) -> None:
    cases = [*CASES, GoldenCase("how tall is mount everest", "human_triage", None)]
    built = _build(fresh_db_url, tmp_path, taxonomy, cases)
    assert built.created and built.row.n_cases == 3
    assert load_cases(built.row, tmp_path) == cases
