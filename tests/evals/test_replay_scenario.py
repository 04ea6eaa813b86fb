"""Scenario files: what parses, and how each mistake is reported."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.datasets.banking77 import labelled_records
from agent.taxonomy import load_taxonomy
from evals.replay.kinds.new_product import NewProduct
from evals.replay.pools import check_against_data
from evals.replay.scenario import (
    ScenarioError,
    load_scenario,
    parse_duration,
    parse_scenario,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "evals" / "scenarios"


def minimal(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "tiny",
        "dataset": {"name": "banking77"},
        "phases": [{"name": "calm", "kind": "stationary", "windows": 3}],
    }
    return {**raw, **changes}


def error_of(raw: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, source="s.yaml")
    return str(info.value)


def test_a_minimal_scenario_takes_the_defaults() -> None:
    s = parse_scenario(minimal())
    assert s.mode == "pool"
    assert s.clock.window == timedelta(hours=1)
    assert s.reference.windows == 12
    assert s.reviewers.share == 0.1
    assert s.outcomes.share == 0.0
    assert s.drift_phases == []


@pytest.mark.parametrize(
    ("text", "seconds"), [("1h", 3600), ("15min", 900), ("2d", 172800), ("90s", 90), (60, 60)]
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_a_bad_duration_names_the_field() -> None:
    message = error_of(minimal(clock={"window": "an hour"}))
    assert "clock.window" in message and "not a duration" in message


def test_unknown_fields_are_errors_not_ignored() -> None:
    message = error_of(minimal(reviewer={"share": 0.2}))
    assert "reviewer" in message and "s.yaml" in message


def test_pool_phases_need_windows() -> None:
    message = error_of(minimal(phases=[{"name": "calm", "kind": "stationary"}]))
    assert "need `windows`" in message


def test_a_new_product_must_have_been_held_out_of_history() -> None:
    phase = {
        "name": "launch",
        "kind": "new_product",
        "windows": 2,
        "intents": ["getting_virtual_card"],
        "share": 0.3,
    }
    message = error_of(minimal(phases=[phase]))
    assert "not in hold_out_intents" in message
    ok = parse_scenario(
        minimal(phases=[phase], history={"hold_out_intents": ["getting_virtual_card"]})
    )
    assert isinstance(ok.phases[0], NewProduct)
    assert ok.drift_phases == ["launch"]


def test_outage_wording_must_place_the_ticket_text() -> None:
    phase = {
        "name": "outage",
        "kind": "outage_burst",
        "windows": 1,
        "queue": "transfers",
        "extra_share": 0.5,
        "wording": ["The system is down"],
    }
    assert "{text}" in error_of(minimal(phases=[phase]))


def test_priority_rules_must_be_real_priorities() -> None:
    phase = {
        "name": "rules",
        "kind": "priority_redefinition",
        "windows": 1,
        "queue_priority": {"transfers": "P0"},
    }
    assert "P1, P2, P3, P4" in error_of(minimal(phases=[phase]))
    empty = {"name": "rules", "kind": "priority_redefinition", "windows": 1}
    assert "intent_priority or queue_priority" in error_of(minimal(phases=[empty]))


def test_an_unknown_phase_kind_is_reported() -> None:
    message = error_of(minimal(phases=[{"name": "x", "kind": "earthquake", "windows": 1}]))
    assert "phases.0" in message


def test_phase_names_are_unique() -> None:
    calm = {"name": "calm", "kind": "stationary", "windows": 1}
    assert "unique" in error_of(minimal(phases=[calm, calm]))


def test_the_dataset_is_one_of_a_name_or_a_file() -> None:
    assert "exactly one" in error_of(minimal(dataset={}))
    both = {"name": "banking77", "file": "x.csv"}
    assert "exactly one" in error_of(minimal(dataset=both))


def test_recorded_mode_needs_a_file_history_cut_and_phase_ends() -> None:
    phases = [{"name": "calm", "kind": "stationary", "until": "2026-03-01T00:00:00Z"}]
    assert "dataset.file" in error_of(minimal(mode="recorded", phases=phases))
    recorded = minimal(mode="recorded", dataset={"file": "t.jsonl"}, phases=phases)
    assert "history.until" in error_of(recorded)
    recorded["history"] = {"until": "2026-02-01T00:00:00Z"}
    assert parse_scenario(recorded).phases[0].until is not None
    recorded["phases"] = [
        {
            "name": "launch",
            "kind": "new_product",
            "until": "2026-03-01T00:00Z",
            "intents": ["a"],
            "share": 0.2,
        }
    ]
    assert "`stationary` or `drift`" in error_of(recorded)
    recorded["phases"] = [
        {"name": "a", "kind": "stationary", "until": "2026-03-02T00:00:00Z"},
        {"name": "b", "kind": "drift", "until": "2026-03-01T00:00:00Z"},
    ]
    assert "must increase" in error_of(recorded)


def test_the_clock_must_start_on_the_window_grid() -> None:
    message = error_of(minimal(clock={"start": "2026-01-05T00:20:00Z", "window": "1h"}))
    assert "grid" in message


def test_files_relative_to_the_scenario_and_yaml_errors(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(
        "name: team\nmode: recorded\ndataset: {file: data/t.jsonl}\n"
        "history: {until: 2026-02-01T00:00:00Z}\n"
        "phases: [{name: calm, kind: stationary, until: 2026-03-01T00:00:00Z}]\n"
    )
    assert load_scenario(path).dataset.file == tmp_path / "data" / "t.jsonl"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="no such scenario"):
        load_scenario(tmp_path / "missing.yaml")


def test_the_shipped_scenarios_are_valid_against_banking77() -> None:
    taxonomy = load_taxonomy("banking77")
    records = labelled_records("train", taxonomy)
    files = sorted(SCENARIOS.glob("*.yaml"))
    kinds = set()
    for f in files:
        scenario = load_scenario(f)
        check_against_data(scenario, records, taxonomy)
        kinds |= {p.kind for p in scenario.phases}
    assert len(files) >= 6
    assert kinds >= {
        "stationary",
        "new_product",
        "outage_burst",
        "terminology_shift",
        "priority_redefinition",
        "gradual_mix",
    }
    stationary = load_scenario(SCENARIOS / "stationary.yaml")
    assert sum(p.windows or 0 for p in stationary.phases) >= 50


def test_data_checks_name_unknown_intents_and_queues() -> None:
    taxonomy = load_taxonomy("banking77")
    records = labelled_records("train", taxonomy)
    scenario = parse_scenario(
        minimal(
            history={"hold_out_intents": ["teleportation"]},
            phases=[
                {
                    "name": "mix",
                    "kind": "gradual_mix",
                    "windows": 1,
                    "queue_weights": {"space": 2.0},
                },
            ],
        )
    )
    with pytest.raises(ScenarioError) as info:
        check_against_data(scenario, records, taxonomy)
    assert "teleportation" in str(info.value) and "space" in str(info.value)


def test_a_helpdesk_export_as_the_dataset_file(tmp_path: Path) -> None:
    from evals.replay.pools import load_records
    from tests.agent.datasets.exports import tickets, write_export, write_taxonomy

    rows = tickets("servicenow", per_queue=2, seed=1)
    write_export(tmp_path / "incidents.csv", "servicenow", rows)
    taxonomy = tmp_path / "it.yaml"
    write_taxonomy(taxonomy, list(dict.fromkeys(t.label for t in rows)))
    (tmp_path / "s.yaml").write_text(
        yaml.safe_dump(
            minimal(
                dataset={
                    "file": "incidents.csv",
                    "taxonomy": str(taxonomy),
                    "preset": "servicenow",
                    "timezone": "UTC",
                    "priority_map": "4 - Low=P3",
                }
            )
        )
    )
    records = load_records(load_scenario(tmp_path / "s.yaml"))
    assert [(r.external_id, r.intent) for r in records] == [(t.id, t.label) for t in rows]
    assert [r.queue for r in records] == ["q0", "q1", "q2", "q3"] * 2
    assert [r.priority for r in records] == [
        "P3" if t.priority == "P4" else t.priority for t in rows
    ]


def test_a_wrong_export_option_in_the_dataset_is_named() -> None:
    message = error_of(minimal(dataset={"file": "x.csv", "preset": "salesforce"}))
    assert "dataset" in message and "unknown preset 'salesforce'" in message
    message = error_of(minimal(dataset={"name": "banking77", "map": "text=Body"}))
    assert "need dataset.file" in message
