"""Where each step goes next: pure functions of the state."""

from __future__ import annotations

from typing import Literal

from agent.budgets import BudgetLevel
from agent.graph.state import RouteState


def after_guard(state: RouteState) -> Literal["version", "decide"]:
    budget = state.get("budget")
    exhausted = budget is not None and budget.level is BudgetLevel.EXHAUSTED
    return "decide" if state.get("switch") or state.get("failure") or exhausted else "version"


def after_version(state: RouteState) -> Literal["embed", "decide"]:
    return "embed" if state.get("version") and not state.get("failure") else "decide"


def after_embed(state: RouteState) -> Literal["retrieve", "decide"]:
    return "decide" if state.get("failure") else "retrieve"


def after_retrieve(state: RouteState) -> Literal["gate", "decide"]:
    return "decide" if state.get("failure") else "gate"


def after_gate(state: RouteState) -> Literal["classify", "decide"]:
    """A novel ticket is not handed to a model to be confidently misrouted, unless the version
    says so (``params["novel_to_model"]``); the free knn vote still runs, for the record. A
    kind that calls no model classifies every ticket."""
    novelty, version = state.get("novelty"), state.get("version")
    if novelty is None or not novelty.novel or version is None:
        return "classify"
    if not version.kind.model_backed:
        return "classify"
    return "classify" if version.params.get("novel_to_model") else "decide"
