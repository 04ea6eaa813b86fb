"""Scoring versions on two taxonomy versions against each other, on the new taxonomy's labels.

When the candidate and the baseline use different taxonomies that a ``taxonomy migrate``
links, both are scored on the new taxonomy: the answers of the version on the old taxonomy are
mapped through the migration's mapping (a split queue's answer by its rules on the case's text;
unmatched, it counts as wrong), and so are the golden labels when the golden set is on the old
taxonomy. A golden label maps only where the mapping is a function (rename, merge): cases of a
split or dropped queue are left out of both runs, and counted.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.taxonomy import HUMAN_TRIAGE, UNKNOWN, Taxonomy
from agent.taxonomy_mapping import TaxonomyMapping
from evals.golden.cases import GoldenCase
from evals.harness.runner import CaseRun


@dataclass(frozen=True)
class TaxonomyView:
    """Score on ``new`` (a version on ``old`` has its answers mapped by ``mapping``)."""

    old: Taxonomy
    new: Taxonomy
    mapping: TaxonomyMapping
    golden_on_old: bool
    excluded: dict[str, int] = field(default_factory=dict)  # old queue -> cases left out
    # New queues whose every golden case was left out: no class of macro-F1 (it would be 0
    # on both sides, however well they route).
    unscored: tuple[str, ...] = ()

    def scored_taxonomy(self) -> Taxonomy:
        """The new taxonomy less its unscored queues: the classes the runs are scored on."""
        if not self.unscored:
            return self.new
        data = self.new.model_dump(mode="json")
        data["queues"] = [q for q in data["queues"] if q["name"] not in self.unscored]
        data["default_priority"] = {
            q: p for q, p in data["default_priority"].items() if q not in self.unscored
        }
        intents = {i for q in data["queues"] for i in q["intents"]}
        data["intent_priority"] = {i: p for i, p in data["intent_priority"].items() if i in intents}
        return Taxonomy.model_validate(data)

    @property
    def context(self) -> dict[str, Any]:
        """What stored runs scored under this view depend on (so they are reused only alike)."""
        return {
            "scored_on": self.new.content_hash,
            "mapping": self.mapping.content_hash,
            "golden_on_old": self.golden_on_old,
        }

    def notes(self) -> list[str]:
        old, new = _name(self.old), _name(self.new)
        lines = [f"compared on {new}: answers on {old} mapped by the taxonomy migration"]
        if self.golden_on_old:
            lines.append(f"golden labels mapped from {old} where the mapping is a function")
        if self.excluded:
            shown = ", ".join(f"{q}: {n}" for q, n in sorted(self.excluded.items()))
            lines.append(
                f"{sum(self.excluded.values())} cases left out: their queue on {old} was split "
                f"or dropped ({shown})"
            )
        if self.unscored:
            lines.append(f"no golden case left for {', '.join(self.unscored)}: not scored")
        return lines


def _name(taxonomy: Taxonomy) -> str:
    return f"{taxonomy.name}@{taxonomy.version}"


def view_for(
    *,
    old: Taxonomy,
    new: Taxonomy,
    mapping: TaxonomyMapping,
    cases: Sequence[GoldenCase],
    golden_taxonomy: str,
) -> tuple[TaxonomyView, list[GoldenCase]]:
    """The view, and the golden cases both versions are scored on (labels on ``new``).
    ``golden_taxonomy`` is the golden set's (``name@version``)."""
    queues = {c.queue for c in cases} - {HUMAN_TRIAGE}
    on_new = golden_taxonomy == _name(new) or (
        golden_taxonomy != _name(old) and queues <= set(new.queue_names)
    )
    if on_new:
        return TaxonomyView(old, new, mapping, golden_on_old=False), list(cases)
    kept: list[GoldenCase] = []
    excluded: Counter[str] = Counter()
    for case in cases:
        mapped = map_case(case, mapping)
        if mapped is None:
            excluded[case.queue] += 1
        else:
            kept.append(mapped)
    targets = {t for q in excluded for t in mapping.rules[q].targets()}
    unscored = tuple(sorted(targets - {c.queue for c in kept}))
    return TaxonomyView(old, new, mapping, True, dict(excluded), unscored), kept


def map_case(case: GoldenCase, mapping: TaxonomyMapping) -> GoldenCase | None:
    """The case with its label on the new taxonomy; None where that is not unique."""
    if case.to_person:
        return case
    target = mapping.unique_target(case.queue)
    if target is None:
        return None
    priority = mapping.relabel(case.queue, case.priority or "P3", case.text).priority
    return dataclasses.replace(
        case, queue=target, priority=priority if case.priority is not None else None
    )


def map_runs(
    runs: Sequence[CaseRun], cases: Sequence[GoldenCase], mapping: TaxonomyMapping
) -> list[CaseRun]:
    """A version on the old taxonomy's answers, on the new taxonomy."""
    return [_map_run(r, cases[r.case].text, mapping) for r in runs]


def _map_run(run: CaseRun, text: str, mapping: TaxonomyMapping) -> CaseRun:
    if run.queue is None or run.queue in (UNKNOWN, HUMAN_TRIAGE) or run.queue not in mapping.rules:
        return run
    new = mapping.relabel(run.queue, run.priority or "P3", text)
    routed_to = run.routed_to
    if routed_to == run.queue:
        routed_to = new.queue or UNKNOWN
    return dataclasses.replace(
        run,
        queue=new.queue,
        priority=new.priority if run.priority is not None else None,
        routed_to=routed_to,
    )
