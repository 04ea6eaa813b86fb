"""``eval run`` on a real database with history: the real graph, nothing written but the run."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from agent.services.router import Submission
from evals import repository
from evals.metrics import accuracy
from evals.service import ScoredRun, evaluate
from tests.asyncdb import session_for
from tests.evals.conftest import EvalAgent

TABLES = ("tickets", "decisions", "trace_spans", "outcomes", "audit_log")


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]


def _evaluate(agent: EvalAgent, **kwargs: Any) -> ScoredRun:
    args = {
        "version_ref": "production",
        "golden_ref": "banking77-test@tests",
        "created_by": "tests",
        **kwargs,
    }
    return asyncio.run(evaluate(agent.settings, **args))


@pytest.fixture(scope="module")
def knn_run(eval_agent: EvalAgent) -> tuple[ScoredRun, dict[str, int], dict[str, int]]:
    before = _counts(eval_agent.database_url)
    scored = _evaluate(eval_agent, k=3)
    return scored, before, _counts(eval_agent.database_url)


def test_a_run_writes_no_ticket_decision_span_or_history(knn_run) -> None:  # type: ignore[no-untyped-def]
    _, before, after = knn_run
    assert after == before


def test_a_run_is_stored_with_its_figures(knn_run, eval_agent: EvalAgent) -> None:  # type: ignore[no-untyped-def]
    scored, _, _ = knn_run
    run = scored.run
    assert not scored.reused and scored.version.semver == eval_agent.setup.version
    assert run.k == 3 and run.n_cases == len(eval_agent.cases) == 12 * 11
    m = run.metrics
    assert m["runs"] == 3 * run.n_cases and m["failures"] == 0
    assert run.context["history"]["outcomes"] == 60 * 11
    assert run.context["embedding_model"] == eval_agent.settings.embedding_model
    assert set(run.per_segment) == {f"queue:{q}" for q in _queues(eval_agent)} | {
        f"priority:{p}" for p in {c.priority for c in eval_agent.cases}
    }
    assert sum(s["n"] for k, s in run.per_segment.items() if k.startswith("queue:")) == 132


def _queues(agent: EvalAgent) -> set[str]:
    return {c.queue for c in agent.cases}


def test_figures_agree_with_the_stored_predictions(knn_run, eval_agent: EvalAgent) -> None:  # type: ignore[no-untyped-def]
    scored, _, _ = knn_run
    m, preds, cases = scored.run.metrics, scored.run.predictions, eval_agent.cases
    routed = [p[0] for p in preds]
    assert m["queue"]["accuracy"] == pytest.approx(accuracy([c.queue for c in cases], routed))
    assert m["coverage"] == pytest.approx(sum(r != "human_triage" for r in routed) / len(cases))
    model = [p[1] for p in preds]
    assert m["queue"]["model_accuracy"] == pytest.approx(accuracy([c.queue for c in cases], model))
    # The end-to-end accuracy is the routed accuracy scaled by coverage.
    assert m["queue"]["accuracy"] == pytest.approx(m["queue"]["routed_accuracy"] * m["coverage"])
    assert 0.0 <= m["queue"]["ece"] <= 1.0 and 0.0 <= m["priority"]["ece"] <= 1.0


def test_the_knn_version_routes_well_and_the_same_every_time(knn_run) -> None:  # type: ignore[no-untyped-def]
    m = knn_run[0].run.metrics
    assert m["queue"]["model_accuracy"] > 0.6  # 11 queues: chance is about 0.09
    # Every ticket routed right was classified right; triaged ones may be right or wrong.
    assert m["queue"]["model_accuracy"] >= m["queue"]["accuracy"]
    assert m["pass_k"]["consistency"] == 1.0  # knn is deterministic
    assert m["pass_k"]["queue"] == pytest.approx(m["queue"]["accuracy"])
    assert m["cost_usd"]["total"] == 0.0 and m["latency_ms"]["p95"] > 0
    assert m["exact_matches_in_history"] == 0


def test_the_eval_decides_as_the_serving_path_does(knn_run, eval_agent: EvalAgent) -> None:  # type: ignore[no-untyped-def]
    from agent.runtime import AgentRuntime

    preds, cases = knn_run[0].run.predictions, eval_agent.cases
    picked = list(range(0, len(cases), 11))

    async def serve() -> list[Any]:
        runtime = await AgentRuntime.start(eval_agent.settings)
        try:
            return [
                (
                    await runtime.router.submit(
                        Submission(source="eval-parity", external_id=str(i), body=cases[i].text),
                        tenant_id=None,
                    )
                ).decision
                for i in picked
            ]
        finally:
            await runtime.close()

    served = asyncio.run(serve())
    for i, decision in zip(picked, served, strict=True):
        routed_to, queue, priority, confidence = preds[i]
        assert (decision.routed_to, decision.queue, decision.priority) == (
            routed_to,
            queue,
            priority,
        ), cases[i].text
        assert decision.confidence == pytest.approx(confidence, abs=1e-3)


def test_reuse_returns_a_stored_run_only_under_the_same_context(
    knn_run,
    eval_agent: EvalAgent,  # type: ignore[no-untyped-def]
) -> None:
    scored = knn_run[0]
    again = _evaluate(eval_agent, k=1, reuse=True)
    assert again.reused and again.run.id is not None
    assert again.version.id == scored.version.id

    async def lookup(context: dict[str, Any]):  # type: ignore[no-untyped-def]
        async with session_for(eval_agent.database_url) as session:
            return await repository.latest_run(
                session,
                agent_version_id=scored.version.id,
                golden_set_id=scored.golden.id,
                context=context,
            )

    assert asyncio.run(lookup(scored.run.context)) is not None
    grown = {**scored.run.context, "history": {"outcomes": 661, "last_recorded_at": None}}
    assert asyncio.run(lookup(grown)) is None
    other_model = {**scored.run.context, "embedding_model": "openai/text-embedding-3-small"}
    assert asyncio.run(lookup(other_model)) is None
