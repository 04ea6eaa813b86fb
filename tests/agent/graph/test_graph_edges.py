"""Where the graph goes after the novelty gate: no model call for a novel ticket unless the
version allows it; the free knn vote always runs."""

from __future__ import annotations

import dataclasses

from agent.classify.novelty import Novelty
from agent.graph.edges import after_gate, after_retrieve
from tests.agent.test_routing import VERSION

NOVEL = Novelty(0.9, 0.01, 0.05, True, "unlike the history")
FAMILIAR = Novelty(0.1, 0.6, 0.05, False, None)
LLM = dataclasses.replace(VERSION, classifier="llm", model="m")


def test_a_novel_ticket_is_not_handed_to_the_llm():
    assert after_gate({"version": LLM, "novelty": NOVEL}) == "decide"
    cascade = dataclasses.replace(LLM, classifier="cascade")
    assert after_gate({"version": cascade, "novelty": NOVEL}) == "decide"


def test_a_version_may_let_the_model_see_novel_tickets():
    allowed = dataclasses.replace(LLM, params={"novel_to_model": True})
    assert after_gate({"version": allowed, "novelty": NOVEL}) == "classify"


def test_familiar_tickets_and_the_knn_vote_are_classified():
    assert after_gate({"version": LLM, "novelty": FAMILIAR}) == "classify"
    assert after_gate({"version": VERSION, "novelty": NOVEL}) == "classify"
    assert after_gate({"version": LLM, "novelty": None}) == "classify"


def test_retrieval_leads_to_the_gate_unless_it_failed():
    assert after_retrieve({}) == "gate"
    assert after_retrieve({"failure": "db down"}) == "decide"
