"""``eval gate`` between a candidate on a new taxonomy version and production on the old one,
linked by ``taxonomy migrate``: both are scored on the new labels, cases of a split queue are
left out and counted. Real history (Banking77), Postgres and embedder."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from agent.classify.knn import KnnParams
from agent.repositories import catalog
from agent.services.operators import Actor
from agent.services.taxonomy_migration import migrate_taxonomy
from agent.services.versions import create_version
from agent.taxonomy import HUMAN_TRIAGE, QueueDef, Taxonomy
from agent.taxonomy_mapping import QueueRule, SplitTarget, TaxonomyMapping
from evals.cross_taxonomy import map_case, map_runs
from evals.errors import EvalSetupError
from evals.gate import GatePolicy
from evals.gate_service import GateOutcome, run_gate
from evals.golden.cases import GoldenCase
from evals.harness.runner import CaseRun
from evals.service import evaluate
from tests.asyncdb import session_for
from tests.evals.conftest import GOLDEN_PER_QUEUE, EvalAgent

CANDIDATE = "3.0.0-newtax"
MERGED = ("card_orders", "card_usage")
RENAMED = {"fees_and_charges": "charges"}
SPLIT = "transfers"


def new_taxonomy(old: Taxonomy) -> Taxonomy:
    """The old one with two card queues merged, one queue renamed and transfers split."""
    queues = [QueueDef(name="cards", description="ordering and using cards")]
    for q in old.queues:
        if q.name in MERGED:
            continue
        if q.name == SPLIT:
            queues += [
                QueueDef(name="transfers_out", description="sending money"),
                QueueDef(name="transfers_in", description="receiving money"),
            ]
            continue
        queues.append(QueueDef(name=RENAMED.get(q.name, q.name), description=q.description))
    return Taxonomy(name=old.name, version="2", queues=queues, priorities=old.priorities)


def mapping_for(old: Taxonomy) -> TaxonomyMapping:
    rules = {q: QueueRule(q, to=RENAMED.get(q, q)) for q in old.queue_names}
    rules.update({q: QueueRule(q, to="cards") for q in MERGED})
    rules[SPLIT] = QueueRule(
        SPLIT,
        split=(SplitTarget("transfers_in", ("receiv", "incoming", "arriv")),),
        default="transfers_out",
    )
    return TaxonomyMapping(rules)


def gate(agent: EvalAgent, candidate: str) -> GateOutcome:
    return asyncio.run(
        run_gate(
            agent.settings,
            candidate=candidate,
            golden_ref="banking77-test@tests",
            policy=GatePolicy(),
            created_by="tests",
        )
    )


@pytest.fixture(scope="module")
def migrated(eval_agent: EvalAgent, taxonomy: Taxonomy) -> Taxonomy:
    new = new_taxonomy(taxonomy)

    async def body() -> None:
        async with session_for(eval_agent.database_url) as session:
            if await catalog.version_by_semver(session, CANDIDATE) is not None:
                return
            actor = Actor("tests", "admin")
            await migrate_taxonomy(
                session, old=taxonomy, new=new, mapping=mapping_for(taxonomy), actor=actor
            )
            base = await catalog.version_by_semver(session, eval_agent.setup.version)
            assert base is not None
            await create_version(
                session,
                semver=CANDIDATE,
                classifier="knn",
                taxonomy=new,
                actor=actor,
                params=base.params,
                thresholds=base.thresholds,
            )

    asyncio.run(body())
    return new


def test_the_gate_scores_both_on_the_new_labels_leaving_out_split_cases(
    eval_agent: EvalAgent, migrated: Taxonomy
) -> None:
    outcome = gate(eval_agent, CANDIDATE)
    kept = len(eval_agent.cases) - GOLDEN_PER_QUEUE
    assert outcome.result.excluded == {SPLIT: GOLDEN_PER_QUEUE}
    assert outcome.candidate.run.n_cases == outcome.baseline.run.n_cases == kept
    assert any(f"{GOLDEN_PER_QUEUE} cases left out" in n for n in outcome.result.notes)
    # the split's queues have no case left: not classes of macro-F1 (0 for both sides)
    assert any("transfers_in, transfers_out: not scored" in n for n in outcome.result.notes)
    per_class = outcome.candidate.run.metrics["queue"]["per_class"]
    assert "transfers_in" not in per_class and "cards" in per_class
    assert outcome.baseline.run.metrics["queue"]["macro_f1"] > 0.85
    # production's answers were mapped: no old-only queue is left among them
    answered = Counter(p[1] for p in outcome.baseline.run.predictions)
    assert not set(answered) & {*MERGED, "fees_and_charges", SPLIT}
    assert answered["cards"] > 0 and answered["charges"] > 0
    # and the candidate's knn voted over the relabelled history (it knows only the new queues)
    voted = Counter(p[1] for p in outcome.candidate.run.predictions)
    assert not set(voted) & {*MERGED, "fees_and_charges", SPLIT} and voted["cards"] > 0
    segments = set(outcome.baseline.run.per_segment) | set(outcome.candidate.run.per_segment)
    assert "queue:cards" in segments and "queue:card_orders" not in segments
    # the candidate votes over the relabelled history: the same knn on merged labels holds up
    base, cand = outcome.baseline.run.metrics, outcome.candidate.run.metrics
    assert cand["queue"]["accuracy"] >= base["queue"]["accuracy"] * 0.97
    assert outcome.result.passed
    # a plain run of production is not served the run scored on the new labels
    plain = asyncio.run(
        evaluate(
            eval_agent.settings,
            version_ref="production",
            golden_ref="banking77-test@tests",
            created_by="tests",
            reuse=True,
        )
    )
    assert plain.run.n_cases == len(eval_agent.cases) and "taxonomy_view" not in plain.run.context


def test_versions_on_unlinked_taxonomies_are_not_compared(
    eval_agent: EvalAgent, taxonomy: Taxonomy, migrated: Taxonomy
) -> None:
    stray = migrated.model_copy(update={"version": "stray"})

    async def body() -> None:
        async with session_for(eval_agent.database_url) as session:
            if await catalog.version_by_semver(session, "3.0.1-stray") is None:
                await create_version(
                    session,
                    semver="3.0.1-stray",
                    classifier="knn",
                    taxonomy=Taxonomy.model_validate(stray.model_dump()),
                    actor=Actor("tests", "admin"),
                    params=KnnParams().to_params(),
                )

    asyncio.run(body())
    with pytest.raises(EvalSetupError, match="no taxonomy migration links them"):
        gate(eval_agent, "3.0.1-stray")


def test_golden_labels_map_only_where_the_mapping_is_a_function(taxonomy: Taxonomy) -> None:
    mapping = mapping_for(taxonomy)
    assert map_case(GoldenCase("lost card", "card_usage", "P2"), mapping) == GoldenCase(
        "lost card", "cards", "P2"
    )
    assert map_case(GoldenCase("money arrived?", SPLIT, "P3"), mapping) is None
    person = GoldenCase("a recipe?", HUMAN_TRIAGE, None)
    assert map_case(person, mapping) is person


def test_an_old_answer_of_a_split_queue_follows_the_split_rule_on_the_case_text(
    taxonomy: Taxonomy,
) -> None:
    mapping = mapping_for(taxonomy)
    cases = [GoldenCase("I am still waiting to receive money", "cards", "P3")]
    run = CaseRun(0, 0, SPLIT, "agent", SPLIT, "P3", 0.9, 0.8, 0.0, 0, 0, 5.0, None, 0.1)
    [mapped] = map_runs([run], cases, mapping)
    assert (mapped.routed_to, mapped.queue) == ("transfers_in", "transfers_in")
    triaged = CaseRun(
        0,
        0,
        HUMAN_TRIAGE,
        "low_confidence",
        "card_usage",
        "P3",
        0.3,
        0.3,
        0.0,
        0,
        0,
        5.0,
        None,
        0.1,
    )
    [kept] = map_runs([triaged], cases, mapping)
    assert (kept.routed_to, kept.queue) == (HUMAN_TRIAGE, "cards")
