"""The routing graph, compiled once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.graph import nodes
from agent.graph.context import AgentContext
from agent.graph.state import RouteState


def after_guard(state: RouteState) -> Literal["version", "decide"]:
    return "decide" if state.get("switch") or state.get("failure") else "version"


def after_version(state: RouteState) -> Literal["embed", "decide"]:
    return "embed" if state.get("version") and not state.get("failure") else "decide"


def after_embed(state: RouteState) -> Literal["retrieve", "decide"]:
    return "decide" if state.get("failure") else "retrieve"


def after_retrieve(state: RouteState) -> Literal["classify", "decide"]:
    return "decide" if state.get("failure") else "classify"


def build_graph() -> StateGraph[RouteState, AgentContext, RouteState, RouteState]:
    g = StateGraph(RouteState, context_schema=AgentContext)
    g.add_node("guard", nodes.guard)
    g.add_node("version", nodes.resolve_version)
    g.add_node("embed", nodes.embed)
    g.add_node("retrieve", nodes.retrieve)
    g.add_node("classify", nodes.classify)
    g.add_node("decide", nodes.decide)
    g.add_node("record", nodes.record)
    g.add_edge(START, "guard")
    g.add_conditional_edges("guard", after_guard)
    g.add_conditional_edges("version", after_version)
    g.add_conditional_edges("embed", after_embed)
    g.add_conditional_edges("retrieve", after_retrieve)
    g.add_edge("classify", "decide")
    g.add_edge("decide", "record")
    g.add_edge("record", END)
    return g


@lru_cache(maxsize=1)
def routing_graph() -> CompiledStateGraph[RouteState, AgentContext, RouteState, RouteState]:
    """The compiled graph (compiled once; thread- and task-safe to invoke)."""
    return build_graph().compile()
