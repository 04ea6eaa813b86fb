"""The routing taxonomy contract and the packaged Banking77 taxonomy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from agent.datasets import read_intents
from agent.taxonomy import HUMAN_TRIAGE, PRIORITIES, TAXONOMY_DIR, UNKNOWN, load_taxonomy

# Every published version of a packaged taxonomy and its content hash. Agent versions pin a
# taxonomy by hash: changing a taxonomy file without a new version (and a line here) fails.
PUBLISHED = {("banking77", "2026.11.1"): "07ad700af4734c31"}


def minimal(**overrides: Any) -> dict[str, Any]:
    """A small valid taxonomy document; ``overrides`` replace top-level keys."""
    doc: dict[str, Any] = {
        "name": "mini",
        "version": "1",
        "queues": [
            {"name": "cards", "description": "cards", "intents": ["card_lost", "card_new"]},
            {"name": "transfers", "description": "transfers", "intents": ["transfer_late"]},
        ],
        "priorities": [
            {"name": p, "description": p, "target_first_response": "1 hour"} for p in PRIORITIES
        ],
        "intent_priority": {"card_lost": "P1"},
        "default_priority": {"cards": "P4", "transfers": "P2"},
    }
    doc.update(overrides)
    return doc


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


# --- the packaged Banking77 taxonomy ---------------------------------------------------------


def test_banking77_puts_every_dataset_intent_in_exactly_one_queue() -> None:
    taxonomy = load_taxonomy("banking77")
    intents = read_intents()
    assert len(intents) == 77
    assert sorted(taxonomy.intents) == sorted(intents)  # sorted lists: duplicates would show


def test_banking77_has_staffable_queues_each_with_intents_and_examples() -> None:
    taxonomy = load_taxonomy("banking77")
    assert 8 <= len(taxonomy.queues) <= 12
    assert UNKNOWN not in taxonomy.queue_names and HUMAN_TRIAGE not in taxonomy.queue_names
    for queue in taxonomy.queues:
        assert queue.intents, queue.name
        assert 2 <= len(queue.examples) <= 3, queue.name
        assert len(queue.description) > 80, queue.name
    assert set(taxonomy.default_priority) == set(taxonomy.queue_names)


def test_banking77_gives_every_intent_an_explicit_priority_and_uses_all_four() -> None:
    taxonomy = load_taxonomy("banking77")
    assert set(taxonomy.intent_priority) == set(taxonomy.intents)
    routes = {i: taxonomy.route_for_intent(i) for i in taxonomy.intents}
    assert {p for _, p in routes.values()} == set(PRIORITIES)
    for p in taxonomy.priorities:
        assert p.description and p.target_first_response


@pytest.mark.parametrize(
    ("intent", "queue", "priority"),
    [
        ("lost_or_stolen_card", "fraud_and_disputes", "P1"),
        ("compromised_card", "fraud_and_disputes", "P1"),
        ("card_payment_not_recognised", "fraud_and_disputes", "P1"),
        ("lost_or_stolen_phone", "account_and_security", "P1"),
        ("transfer_not_received_by_recipient", "transfers", "P2"),
        ("failed_transfer", "transfers", "P2"),
        ("declined_card_payment", "card_payments", "P3"),
        ("exchange_rate", "currency_exchange", "P4"),
        ("age_limit", "identity_and_onboarding", "P4"),
    ],
)
def test_banking77_routes_risk_first(intent: str, queue: str, priority: str) -> None:
    assert load_taxonomy("banking77").route_for_intent(intent) == (queue, priority)


def test_packaged_taxonomies_match_their_published_version_hash() -> None:
    for path in sorted(TAXONOMY_DIR.glob("*.yaml")):
        taxonomy = load_taxonomy(path)
        key = (taxonomy.name, taxonomy.version)
        assert key in PUBLISHED, f"{path.name}: new version {key}: add it to PUBLISHED"
        assert taxonomy.content_hash == PUBLISHED[key], f"{path.name} changed: bump its version"


def test_content_hash_ignores_formatting_and_follows_content(tmp_path: Path) -> None:
    original = load_taxonomy("banking77")
    doc = yaml.safe_load((TAXONOMY_DIR / "banking77.yaml").read_text(encoding="utf-8"))
    reformatted = tmp_path / "same.yaml"
    reformatted.write_text(yaml.safe_dump(doc, sort_keys=True, width=60), encoding="utf-8")
    assert load_taxonomy(reformatted).content_hash == original.content_hash
    doc["intent_priority"]["exchange_rate"] = "P3"
    assert load_taxonomy(write(tmp_path, doc)).content_hash != original.content_hash


# --- the contract: loading, routing, validation ----------------------------------------------


def test_route_falls_back_to_the_queue_default_priority(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write(tmp_path, minimal()))
    assert taxonomy.route_for_intent("card_lost") == ("cards", "P1")
    assert taxonomy.route_for_intent("card_new") == ("cards", "P4")
    assert taxonomy.route_for_intent("transfer_late") == ("transfers", "P2")
    with pytest.raises(KeyError, match="nope"):
        taxonomy.route_for_intent("nope")


def test_queue_and_priority_lookups(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write(tmp_path, minimal()))
    assert taxonomy.queue("transfers").intents == ["transfer_late"]
    assert taxonomy.priority("P2").name == "P2"
    with pytest.raises(KeyError, match="billing"):
        taxonomy.queue("billing")


def test_missing_taxonomy_file_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="no_such_taxonomy.yaml"):
        load_taxonomy("no_such_taxonomy")


def _queues(*specs: tuple[str, list[str]]) -> list[dict[str, Any]]:
    return [{"name": n, "description": n, "intents": i} for n, i in specs]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"queues": _queues(("a", ["x"]), ("b", ["x"]))}, "'x' is in both a and b"),
        ({"queues": _queues(("a", ["x"]), ("a", ["y"]))}, "queue names must be unique"),
        ({"queues": _queues(("unknown", ["x"]))}, "reserved queue names"),
        ({"queues": _queues(("human_triage", ["x"]))}, "reserved queue names"),
        ({"queues": _queues(("Cards Team", ["x"]))}, "should match pattern"),
        ({"queues": _queues(("a", [" "]))}, "empty intent name"),
        ({"intent_priority": {"card_lost": "P5"}}, "invalid priority 'P5'"),
        ({"intent_priority": {"ghost": "P1"}}, "unknown intent 'ghost'"),
        ({"default_priority": {"cards": "urgent"}}, "default_priority 'cards'"),
        ({"default_priority": {"billing": "P1"}}, "default_priority 'billing'"),
        ({"intent_priorty": {"card_lost": "P1"}}, "intent_priorty"),
    ],
)
def test_invalid_taxonomies_are_rejected(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    doc = minimal(**overrides)
    if "queues" in overrides:
        doc["intent_priority"], doc["default_priority"] = {}, {}
    with pytest.raises(ValidationError, match=message):
        load_taxonomy(write(tmp_path, doc))


def test_priorities_must_be_exactly_p1_to_p4(tmp_path: Path) -> None:
    doc = minimal()
    doc["priorities"] = doc["priorities"][:3]
    with pytest.raises(ValidationError, match="exactly P1, P2, P3, P4"):
        load_taxonomy(write(tmp_path, doc))
    doc = minimal()
    doc["priorities"][3]["name"] = "P5"
    with pytest.raises(ValidationError, match="P5"):
        load_taxonomy(write(tmp_path, doc))
