"""Reading Banking77 splits and routing them with a taxonomy."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agent.datasets import (
    LabelledFileError,
    labelled_records,
    read_intents,
    read_split,
    shuffled,
)
from agent.taxonomy import Taxonomy, load_taxonomy
from tests.agent.datasets.conftest import INTENTS


def test_read_split_keeps_file_order_and_multiline_texts(dataset_dir: Path) -> None:
    records = read_split("train", root=dataset_dir)
    assert [r.row for r in records] == list(range(1, 14))
    assert records[0].text == "generated query 0 about parcel late"
    assert records[-1].text == 'a "quoted" query, over\ntwo lines'
    assert records[-1].intent == "login_failed"
    assert read_intents(dataset_dir) == INTENTS


def test_labelled_records_route_each_intent_through_the_taxonomy(
    dataset_dir: Path, taxonomy: Taxonomy
) -> None:
    records = labelled_records("test", taxonomy, root=dataset_dir)
    routes = [(r.intent, r.queue, r.priority) for r in records]
    assert routes == [
        ("parcel_late", "deliveries", "P3"),
        ("parcel_damaged", "deliveries", "P3"),
        ("login_failed", "access", "P1"),
        ("invoice_question", "billing", "P4"),
    ]
    assert [r.external_id for r in records] == [f"banking77:test:{n}" for n in range(1, 5)]
    assert records[0].text == "held-out query about parcel late"


def test_a_taxonomy_missing_an_intent_is_refused(dataset_dir: Path, taxonomy: Taxonomy) -> None:
    doc = taxonomy.model_dump()
    doc["queues"] = [q for q in doc["queues"] if q["name"] != "access"]
    doc["intent_priority"] = {}
    doc["default_priority"].pop("access")
    partial = Taxonomy.model_validate(doc)
    with pytest.raises(ValueError, match="no queue for \\['login_failed'\\]"):
        labelled_records("train", partial, root=dataset_dir)


def test_unknown_category_is_reported_with_file_and_line(dataset_dir: Path) -> None:
    path = dataset_dir / "test.csv"
    path.write_text(path.read_text() + "one more query,not_an_intent\n")
    with pytest.raises(LabelledFileError) as caught:
        read_split("test", root=dataset_dir)
    assert f"{path}:6: category: unknown intent 'not_an_intent'" in str(caught.value)


def test_wrong_header_and_unknown_split_are_errors(dataset_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown Banking77 split 'dev'"):
        read_split("dev", root=dataset_dir)
    (dataset_dir / "test.csv").write_text("query,label\nhi,parcel_late\n")
    with pytest.raises(LabelledFileError, match="test.csv:1: expected the header text,category"):
        read_split("test", root=dataset_dir)


def test_shuffled_is_a_seeded_permutation(dataset_dir: Path) -> None:
    records = read_split("train", root=dataset_dir)
    first, again, other = (
        shuffled(records, seed=7),
        shuffled(records, seed=7),
        shuffled(records, seed=8),
    )
    assert first == again and first != other
    assert sorted(first, key=lambda r: r.row) == records
    assert [r.row for r in records] == list(range(1, 14))  # input untouched


# --- the real dataset, read in place (never copied) ------------------------------------------


def test_banking77_splits_route_completely_under_the_default_taxonomy() -> None:
    taxonomy = load_taxonomy("banking77")
    train = labelled_records("train", taxonomy)
    test = labelled_records("test", taxonomy)
    assert (len(train), len(test)) == (10_003, 3_080)
    assert Counter(r.intent for r in test) == dict.fromkeys(taxonomy.intents, 40)
    for records in (train, test):
        assert {r.queue for r in records} == set(taxonomy.queue_names)
        assert {r.priority for r in records} == {"P1", "P2", "P3", "P4"}
        assert all(
            taxonomy.route_for_intent(r.intent or "") == (r.queue, r.priority) for r in records
        )
    assert labelled_records("train", taxonomy) == train  # deterministic order
