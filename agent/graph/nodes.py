"""The graph's nodes: plain async functions returning partial state. No database or web code."""

from __future__ import annotations

import random
from dataclasses import asdict
from typing import Any

from langgraph.runtime import Runtime

from agent.budgets import BudgetLevel
from agent.classify.base import cost_estimate_usd
from agent.classify.novelty import NoveltyGate
from agent.graph.context import AgentContext, TenantOnly
from agent.graph.edges import after_embed, after_gate, after_guard, after_retrieve, after_version
from agent.graph.state import RouteState
from agent.graph.tracing import traced
from agent.routing import decide as decide_route
from agent.switches import intake_segments, predicted_segments, tripped_at_intake
from agent.version_context import history_scope

DEFAULT_K = 15


def _top(probs: dict[str, float], n: int = 5) -> dict[str, float]:
    return dict(sorted(probs.items(), key=lambda kv: -kv[1])[:n])


@traced(
    "guard",
    then=after_guard,
    inputs=lambda s: {"segments": intake_segments(s["ticket"])},
    outputs=lambda u: {
        "enabled": sorted(u["enabled_switches"]),
        "switch": u["switch"],
        "budget": u["budget"].level.value,
    },
)
async def guard(state: RouteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Kill switch, global or for the ticket's segment: if on, no model is called; and the
    tenant's model budget (exhausted: no model either)."""
    enabled = await runtime.context.switches.enabled()
    budget = await runtime.context.budgets.status(state["ticket"].tenant_id)
    return {
        "enabled_switches": enabled,
        "switch": tripped_at_intake(enabled, state["ticket"]),
        "budget": budget,
    }


@traced(
    "version",
    then=after_version,
    inputs=lambda s: {"customer_id": s["ticket"].customer_id},
    outputs=lambda u: {
        "version": u["version"] and u["version"].semver,
        "label": u["version"] and u["version"].label,
        "classifier": u["version"] and u["version"].classifier,
    },
)
async def resolve_version(state: RouteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """The production version, or the canary for a sticky share of customers. A version
    pinned to another embedding model than this process's cannot be served as it was
    evaluated (its neighbours and gates live in another space): the ticket goes to humans."""
    ticket = state["ticket"]
    version = await runtime.context.versions.resolve(
        sticky_key=ticket.customer_id or ticket.ticket_id
    )
    serving = runtime.context.embedder.model_name
    if version is not None and version.embedding_model != serving:
        failure = (
            f"embedding_mismatch: version {version.semver} pins {version.embedding_model}, "
            f"this process embeds with {serving}"
        )
        return {"version": version, "failure": failure}
    return {"version": version}


@traced(
    "embed",
    then=after_embed,
    inputs=lambda s: {"chars": len(s["ticket"].text)},
    outputs=lambda u: {"dim": int(u["embedding"].shape[0])},
)
async def embed(state: RouteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    return {"embedding": await runtime.context.embedder.embed(state["ticket"].text)}


def _gate(state: RouteState) -> NoveltyGate | None:
    version = state.get("version")
    return NoveltyGate.from_thresholds(version.thresholds.get("novelty")) if version else None


def _taxonomy_hash(state: RouteState) -> str | None:
    """Whose labels the neighbours carry: the version's taxonomy (``taxonomy migrate``)."""
    version = state.get("version")
    return version.taxonomy.content_hash if version else None


def _tenant_scope(state: RouteState) -> TenantOnly | None:
    """The ticket's tenant when its version retrieves per tenant, else None (the pool). The
    neighbours are also the LLM's few-shot examples, so those never cross tenants either."""
    version = state.get("version")
    if version is None or history_scope(version.params) != "tenant":
        return None
    return TenantOnly(state["ticket"].tenant_id)


def _k(state: RouteState) -> int:
    version = state.get("version")
    k = int(version.params.get("k", DEFAULT_K)) if version else DEFAULT_K
    gate = _gate(state)
    return max(k, gate.k) if gate else k


@traced(
    "retrieve",
    then=after_retrieve,
    inputs=lambda s: {"k": _k(s)},
    outputs=lambda u: {
        "neighbours": [
            {
                "ticket_id": n.ticket_id,
                "queue": n.queue,
                "priority": n.priority,
                "distance": round(n.distance, 4),
            }
            for n in u["neighbours"]
        ]
    },
)
async def retrieve(state: RouteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """The k nearest historical tickets with known final routes (HNSW index)."""
    embedding = state.get("embedding")
    assert embedding is not None
    neighbours = await runtime.context.history.nearest(
        embedding=embedding,
        k=_k(state),
        exclude_ticket_id=state["ticket"].ticket_id,
        taxonomy=_taxonomy_hash(state),
        tenant=_tenant_scope(state),
    )
    return {"neighbours": neighbours}


@traced(
    "gate",
    then=after_gate,
    inputs=lambda s: {"neighbours": len(s.get("neighbours", []))},
    outputs=lambda u: u["novelty"].details() if u["novelty"] else {"gate": None},
)
async def gate(state: RouteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """The version's novelty gate: a conformal p-value of the ticket against its history."""
    novelty_gate = _gate(state)
    neighbours = state.get("neighbours", [])
    return {"novelty": novelty_gate.judge(neighbours) if novelty_gate else None}


def _describe_classification(update: dict[str, Any]) -> dict[str, Any]:
    estimate = {"estimated_cost_usd": update.get("estimated_cost_usd", 0.0)}
    c = update.get("classification")
    if c is None:  # the budget refused the model call
        return {**estimate, "budget": update["budget"].level.value}
    return {
        **estimate,
        "classifier": c.classifier,
        "queue_probs": _top(c.queue_probs),
        "priority_probs": c.priority_probs,
        "model": c.model,
        "error": c.error,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "cost_usd": c.cost_usd,
        "latency_ms": c.latency_ms,
        "probability_source": c.probability_source,
    }


@traced(
    "classify",
    inputs=lambda s: {
        "classifier": s["version"] and s["version"].classifier,
        "neighbours": len(s.get("neighbours", [])),
    },
    outputs=_describe_classification,
)
async def classify(state: RouteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """The version's classifier, after its cost estimate is held against the tenant's budget:
    a refused hold leaves no classification and an exhausted budget (human triage)."""
    version, ticket = state["version"], state["ticket"]
    assert version is not None
    budget = state.get("budget")
    cheaper = budget is not None and budget.level is BudgetLevel.DEGRADE
    classifier = runtime.context.classifiers.for_version(version, cheaper=cheaper)
    text, neighbours, taxonomy = ticket.text, state.get("neighbours", []), version.taxonomy
    estimate = cost_estimate_usd(classifier, text=text, neighbours=neighbours, taxonomy=taxonomy)
    budgets = runtime.context.budgets
    hold = await budgets.reserve(
        tenant_id=ticket.tenant_id, ticket_id=ticket.ticket_id, amount_usd=estimate
    )
    if not hold.granted:
        return {"budget": hold.status, "estimated_cost_usd": estimate}
    try:
        result = await classifier.classify(text=text, neighbours=neighbours, taxonomy=taxonomy)
    except BaseException:
        await budgets.release(hold)
        raise
    return {
        "classification": result,
        "reservation_id": hold.reservation_id,
        "estimated_cost_usd": estimate,
    }


@traced(
    "decide",
    inputs=lambda s: {"switch": s.get("switch"), "failure": s.get("failure")},
    outputs=lambda u: asdict(u["decision"]),
)
async def decide(state: RouteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Human triage on a switch, a failure, a novel ticket, ``unknown`` or low confidence;
    else the queue."""
    classification = state.get("classification")
    segments = intake_segments(state["ticket"])
    if classification is not None and not classification.error:
        segments += predicted_segments(classification.queue, classification.priority)
    decision = decide_route(
        ticket=state["ticket"],
        enabled=state.get("enabled_switches", frozenset()),
        switch=state.get("switch"),
        budget=state.get("budget"),
        version=state.get("version"),
        novelty=state.get("novelty"),
        classification=classification,
        neighbours=state.get("neighbours", []),
        failure=state.get("failure"),
        sample_rate=runtime.context.sampler.sample_rate(segments),
        draw=random.random(),
    )
    return {"decision": decision}


async def record(state: RouteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Write decision, embedding and spans atomically. Failures propagate: the ticket is
    already stored, and the reconciler finishes it."""
    recorded = await runtime.context.recorder.record(state)
    return {
        "decision_id": str(recorded.decision["id"]),
        "decision_row": recorded.decision,
        "spans": [recorded.span],
    }
