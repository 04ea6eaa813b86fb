"""Mapping files between taxonomy versions: what they mean, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.taxonomy_mapping import MappingError, TaxonomyMapping, load_mapping
from tests.agent.test_taxonomy_migrate import MAPPING, NEW, OLD, taxonomy


def mapping_from(tmp_path: Path, text: str) -> TaxonomyMapping:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return load_mapping(path, old=OLD, new=NEW)


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(MappingError) as caught:
        mapping_from(tmp_path, text)
    return str(caught.value)


def test_rename_merge_split_and_drop_are_told_apart(tmp_path: Path) -> None:
    m = mapping_from(tmp_path, MAPPING)
    assert m.kind("card_arrival") == m.kind("card_delivery") == "merge"
    assert m.kind("fees") == "rename" and m.kind("transfers") == "split"
    assert m.kind("legacy") == "dropped"
    assert m.unique_target("card_arrival") == "cards" and m.unique_target("fees") == "charges"
    assert m.unique_target("transfers") is None and m.unique_target("legacy") is None
    assert m.relabel("transfers", "P3", "Wire via SWIFT please").queue == "international_transfers"
    assert m.relabel("transfers", "P3", "SEPA payment").queue == "domestic_transfers"
    unmatched = m.relabel("transfers", "P4", "where is my money")
    assert (unmatched.queue, unmatched.priority, unmatched.rule) == (None, "P3", "needs-label")
    assert m.relabel("fees", "P4", "x").priority == "P2"  # the queue's priority wins


def test_the_stored_form_round_trips_to_the_same_mapping(tmp_path: Path) -> None:
    m = mapping_from(tmp_path, MAPPING)
    again = TaxonomyMapping.from_json(m.to_json())
    assert again == m and again.content_hash == m.content_hash


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MAPPING.replace("  legacy: null\n", ""), "not mapped: legacy (map each"),
        (MAPPING.replace("card_arrival: cards", "card_arrival: card"), ":2: 'card' is not a queue"),
        (MAPPING.replace("  fees: {to", "  feez: {to"), ":4: 'feez' is not a queue of bank@1"),
        (MAPPING.replace('"swift", "abroad"', '"swift", "(abroad"'), ":8: pattern '(abroad'"),
        (
            MAPPING.replace("{to: charges, priority: P2}", "{to: charges, priority: P9}"),
            ":4: a prio",
        ),
        (MAPPING.replace("fees: {to:", "fees: {too:"), ":4: fees: unknown key 'too'"),
        (MAPPING.replace("  legacy:", "  fees: charges\n  legacy:"), ":5: 'fees' is mapped twice"),
        (MAPPING.replace("queues:", "queuez:"), ":1: unknown section 'queuez'"),
        ("", "the mapping is empty"),
        ("queues: [a, b]\n", ":1: queues must be a mapping"),
        ("queues: {fees: {to: charges, split: {cards: {match: x}}}}\n", "either 'to' or 'split'"),
        ("queues: {fees: {to: charges, default: cards}}\n", "'default' belongs to a split"),
    ],
)
def test_bad_mappings_are_refused_naming_the_line(tmp_path: Path, text: str, expected: str) -> None:
    message = error(tmp_path, text)
    assert expected in message
    assert message.startswith(str(tmp_path / "mapping.yaml"))


def test_the_documented_example_loads_and_splits_as_it_says(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "own-data.md").read_text()
    section = doc.split("## 4. Changing the taxonomy")[1]
    example = section.split("```yaml\n")[1].split("```")[0]
    old = taxonomy(
        "it", "1", ("card_arrival", "card_delivery", "cheque_books", "fees", "transfers")
    )
    new = taxonomy("it", "2", ("cards", "charges", "international_transfers", "domestic_transfers"))
    path = tmp_path / "mapping.yaml"
    path.write_text(example)
    m = load_mapping(path, old=old, new=new)
    assert m.relabel("transfers", "P3", "my IBAN is DE12...").queue == "international_transfers"
    assert m.relabel("transfers", "P4", "where is my money").queue == "domestic_transfers"
    assert m.relabel("transfers", "P4", "x").priority == "P3"
    assert m.kind("cheque_books") == "dropped" and m.kind("card_delivery") == "merge"
