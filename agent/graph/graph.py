"""The routing graph, compiled once per process."""

from __future__ import annotations

from functools import lru_cache

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.graph import nodes
from agent.graph.context import AgentContext
from agent.graph.state import RouteState


def build_graph() -> StateGraph[RouteState, AgentContext, RouteState, RouteState]:
    g = StateGraph(RouteState, context_schema=AgentContext)
    g.add_node("guard", nodes.guard, destinations=("version", "decide"))
    g.add_node("version", nodes.resolve_version, destinations=("embed", "decide"))
    g.add_node("embed", nodes.embed, destinations=("retrieve", "decide"))
    g.add_node("retrieve", nodes.retrieve, destinations=("gate", "decide"))
    g.add_node("gate", nodes.gate, destinations=("classify", "decide"))
    g.add_node("classify", nodes.classify)
    g.add_node("decide", nodes.decide)
    g.add_node("record", nodes.record)
    g.add_edge(START, "guard")
    g.add_edge("classify", "decide")
    g.add_edge("decide", "record")
    g.add_edge("record", END)
    return g


@lru_cache(maxsize=1)
def routing_graph() -> CompiledStateGraph[RouteState, AgentContext, RouteState, RouteState]:
    """The compiled graph (compiled once; thread- and task-safe to invoke)."""
    return build_graph().compile()
