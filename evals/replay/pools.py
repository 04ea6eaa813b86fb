"""The labelled tickets a scenario draws from, split so that nothing leaks between roles.

Pool mode: the dataset (Banking77: train and test together, so one label mix) is shuffled
with the scenario's seed; intents held out (a product not launched yet) go to the *new* pool;
of the rest, ``history.share`` becomes history and the remainder the *stream* pool, from which
the reference period and every calm window are drawn (one pool: a difference between them is
never a train/test artefact). Recorded mode: the file's tickets before ``history.until`` are
history, the rest are replayed at their timestamps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta

from agent.config import Settings, get_settings
from agent.datasets.banking77 import banking77_dir, ensure_banking77, labelled_records
from agent.datasets.records import LabelledTicket, read_labelled_file, shuffled
from agent.taxonomy import Taxonomy, load_taxonomy
from evals.replay.scenario import Scenario, ScenarioError

HISTORY_AGE = timedelta(days=1)  # pool mode: history is stamped this long before the clock


@dataclass(frozen=True)
class Pools:
    """History (loaded before the replay), the stream pool, and held-out (new) tickets."""

    taxonomy: Taxonomy
    history: list[LabelledTicket]
    stream: list[LabelledTicket]
    new: list[LabelledTicket]


def load_records(scenario: Scenario, settings: Settings | None = None) -> list[LabelledTicket]:
    """Every labelled ticket of the scenario's dataset, in file order."""
    taxonomy = load_taxonomy(scenario.dataset.taxonomy)
    if scenario.dataset.file is not None:
        return read_labelled_file(
            scenario.dataset.file, taxonomy=taxonomy, export=scenario.dataset.export()
        )
    root = banking77_dir(settings) if settings else ensure_banking77(settings=get_settings())
    return labelled_records("train", taxonomy, root=root) + labelled_records(
        "test", taxonomy, root=root
    )


def split_pools(scenario: Scenario, records: list[LabelledTicket]) -> Pools:
    """Split ``records`` into the scenario's pools (see the module docstring)."""
    taxonomy = load_taxonomy(scenario.dataset.taxonomy)
    check_against_data(scenario, records, taxonomy)
    if scenario.mode == "recorded":
        return _recorded_pools(scenario, records, taxonomy)
    held = set(scenario.history.hold_out_intents)
    order = shuffled(records, seed=scenario.seed)
    new = [r for r in order if r.intent in held]
    rest = [r for r in order if r.intent not in held]
    n_history = round(scenario.history.share * len(rest))
    # history was recorded before the clock starts (the monitor looks only at outcomes recorded
    # before a window: the explanation's "far from history" would otherwise find none)
    recorded = scenario.clock.start - HISTORY_AGE
    history = [replace(r, timestamp=r.timestamp or recorded) for r in rest[:n_history]]
    stream = rest[n_history:]
    needed = scenario.reference.windows * scenario.tickets_per_window
    if needed * 2 > len(stream):
        raise ScenarioError(
            f"{scenario.name}: the reference period needs {needed} tickets, more than half of "
            f"the {len(stream)} left for the stream; lower reference.windows, "
            "tickets_per_window or history.share"
        )
    return Pools(taxonomy, history, stream, new)


def _recorded_pools(scenario: Scenario, records: list[LabelledTicket], taxonomy: Taxonomy) -> Pools:
    until = scenario.history.until
    assert until is not None
    undated = sum(r.timestamp is None for r in records)
    if undated:
        raise ScenarioError(
            f"{scenario.name}: recorded mode needs a timestamp on every row; {undated} have none"
        )
    history = [r for r in records if r.timestamp is not None and r.timestamp < until]
    stream = sorted(
        (r for r in records if r.timestamp is not None and r.timestamp >= until),
        key=lambda r: r.timestamp,  # type: ignore[arg-type,return-value]
    )
    if not history or not stream:
        raise ScenarioError(f"{scenario.name}: history.until leaves no history or no stream")
    return Pools(taxonomy, history, stream, [])


def check_against_data(
    scenario: Scenario, records: list[LabelledTicket], taxonomy: Taxonomy
) -> None:
    """Every intent and queue the scenario names exists in the data and the taxonomy."""
    problems: list[str] = []
    intents = Counter(r.intent for r in records if r.intent is not None)
    queues = set(taxonomy.queue_names)
    unknown = sorted(set(scenario.history.hold_out_intents) - set(intents))
    if unknown:
        problems.append(f"history.hold_out_intents: no tickets with intents {unknown}")
    for phase in scenario.phases:
        problems += phase.data_problems(intents=set(intents), queues=queues, taxonomy=taxonomy)
    if problems:
        raise ScenarioError(f"{scenario.name}: " + "; ".join(problems))
