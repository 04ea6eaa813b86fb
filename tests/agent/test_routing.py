"""The routing rules: kill switches, failures, unknown, confidence, review sampling."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from agent.classify.base import Classification, Neighbour
from agent.graph.state import ResolvedVersion, TicketInput
from agent.routing import decide, entropy, margin
from agent.switches import intake_segments, tripped_switch
from agent.taxonomy import HUMAN_TRIAGE, load_taxonomy

TAX = load_taxonomy("banking77")
TICKET = TicketInput(
    ticket_id="00000000-0000-0000-0000-000000000001",
    text="x",
    channel="email",
    source="zendesk",
    customer_id="c1",
    tenant_id=None,
    received_at=datetime.now(UTC),
)
VERSION = ResolvedVersion(
    id="v",
    semver="1.0.0",
    label="production",
    classifier="knn",
    model=None,
    fallback_model=None,
    prompt_template="",
    params={"tau": 0.05},
    thresholds={"min_confidence": 0.6},
    taxonomy=TAX,
)


def classification(
    top: str, p: float, prio: str = "P3", prio_p: float = 0.9, error: str | None = None
) -> Classification:
    rest = (1 - p) / (len(TAX.queue_names))
    probs = dict.fromkeys((*TAX.queue_names, "unknown"), rest)
    probs[top] = p
    prios = dict.fromkeys(TAX.priority_names, (1 - prio_p) / 3)
    prios[prio] = prio_p
    return Classification(classifier="knn", queue_probs=probs, priority_probs=prios, error=error)


def run(**kw: object):
    args = {
        "ticket": TICKET,
        "enabled": frozenset(),
        "switch": None,
        "version": VERSION,
        "classification": classification("transfers", 0.9),
        "neighbours": [],
        "failure": None,
        "sample_rate": 0.0,
        "draw": 0.5,
    }
    return decide(**{**args, **kw})  # type: ignore[arg-type]


def test_global_switch_beats_segment_switches():
    enabled = frozenset({"global", "channel:email"})
    assert tripped_switch(enabled, intake_segments(TICKET)) == "global"
    assert tripped_switch(frozenset({"channel:email"}), intake_segments(TICKET)) == "channel:email"
    assert tripped_switch(frozenset({"channel:chat"}), intake_segments(TICKET)) is None


def test_kill_switch_routes_to_human_triage():
    d = run(switch="global", classification=None)
    assert (d.routed_to, d.mode, d.needs_review) == (HUMAN_TRIAGE, "kill_switch", True)


def test_a_switch_on_the_predicted_queue_routes_to_human_triage():
    d = run(enabled=frozenset({"queue:transfers"}))
    assert (d.routed_to, d.mode, d.queue) == (HUMAN_TRIAGE, "kill_switch", "transfers")


def test_a_failed_step_routes_to_human_triage_with_the_reason():
    d = run(failure="embed failed: TimeoutError", classification=None)
    assert (d.routed_to, d.mode) == (HUMAN_TRIAGE, "fallback")
    assert "embed failed" in (d.reason or "")


def test_a_classifier_error_routes_to_human_triage():
    d = run(classification=classification("transfers", 0.9, error="timeout"))
    assert (d.mode, d.reason) == ("fallback", "knn: timeout")


def test_no_production_version_routes_to_human_triage():
    assert run(version=None).mode == "no_version"


def test_unknown_routes_to_human_triage():
    d = run(classification=classification("unknown", 0.8))
    assert (d.routed_to, d.mode) == (HUMAN_TRIAGE, "unknown")


def test_low_confidence_routes_to_human_triage_but_keeps_the_prediction():
    d = run(classification=classification("transfers", 0.55))
    assert (d.routed_to, d.mode, d.queue) == (HUMAN_TRIAGE, "low_confidence", "transfers")
    assert d.confidence == pytest.approx(0.55)


def test_confident_decision_routes_to_the_queue():
    d = run(neighbours=[Neighbour("n", "", "transfers", "P3", 0.1)])
    assert (d.routed_to, d.mode, d.queue, d.priority) == ("transfers", "agent", "transfers", "P3")
    assert d.knn_consensus == "transfers" and d.knn_agreement == 1.0
    assert not d.needs_review and not d.sampled_for_review and d.inclusion_prob == 0.0


def test_uncertain_priority_is_routed_but_flagged_for_review():
    d = run(classification=classification("transfers", 0.9, prio_p=0.3))
    assert d.routed_to == "transfers" and d.needs_review and d.inclusion_prob == 1.0


def test_review_sampling_records_its_inclusion_probability():
    sampled = run(sample_rate=0.1, draw=0.05)
    skipped = run(sample_rate=0.1, draw=0.5)
    assert sampled.sampled_for_review and sampled.inclusion_prob == 0.1
    assert not skipped.sampled_for_review and skipped.inclusion_prob == 0.1


def test_entropy_and_margin():
    assert entropy({"a": 0.5, "b": 0.5}) == pytest.approx(0.6931, abs=1e-4)
    assert margin({"a": 0.7, "b": 0.2, "c": 0.1}) == pytest.approx(0.5)


def novelty(p: float, alpha: float = 0.05):
    from agent.classify.novelty import NoveltyGate

    gate = NoveltyGate(score="nearest", alpha=alpha, calibration=tuple(i / 100 for i in range(99)))
    # a nearest distance whose p-value is ``p`` among the 99 calibration scores
    return gate.judge([Neighbour("n", "", "transfers", "P3", 0.99 * (1 - p) + 1e-9)])


def test_a_novel_ticket_goes_to_human_triage_with_its_p_value_in_the_reason():
    verdict = novelty(0.01)
    assert verdict.novel
    d = run(novelty=verdict)
    assert (d.routed_to, d.mode, d.needs_review) == (HUMAN_TRIAGE, "novel", True)
    assert f"p-value {verdict.p_value:.4f}" in (d.reason or "")
    assert d.queue == "transfers" and d.confidence == pytest.approx(0.9)  # kept for review


def test_a_familiar_ticket_is_routed_as_before():
    verdict = novelty(0.5)
    assert not verdict.novel
    d = run(novelty=verdict)
    assert (d.routed_to, d.mode) == ("transfers", "agent")


def test_a_novel_ticket_not_handed_to_a_model_is_recorded_as_unknown():
    d = run(novelty=novelty(0.01), classification=None)
    assert (d.routed_to, d.mode, d.queue) == (HUMAN_TRIAGE, "novel", "unknown")


def test_a_kill_switch_still_comes_before_the_novelty_gate():
    d = run(switch="global", novelty=novelty(0.01), classification=None)
    assert d.mode == "kill_switch"


def near(*routes: tuple[str, str, float]) -> list[Neighbour]:
    return [Neighbour(str(i), "", q, p, d) for i, (q, p, d) in enumerate(routes)]


CALM_HISTORY = near(("transfers", "P3", 0.10), ("transfers", "P3", 0.12), ("transfers", "P2", 0.13))


def test_a_priority_no_similar_ticket_supports_is_not_granted_but_kept_for_a_person():
    d = run(classification=classification("transfers", 0.9, "P1"), neighbours=CALM_HISTORY)
    assert (d.routed_to, d.mode, d.priority) == ("transfers", "agent", "P2")
    assert d.needs_review and d.sampled_for_review and d.inclusion_prob == 1.0
    assert d.reason and "priority P1 has no support" in d.reason


def test_a_priority_that_similar_tickets_hold_is_granted():
    history = [*CALM_HISTORY, *near(("transfers", "P1", 0.12))]
    d = run(classification=classification("transfers", 0.9, "P1"), neighbours=history)
    assert (d.priority, d.needs_review) == ("P1", False)


def test_only_the_most_urgent_priority_needs_support_in_the_history():
    # P4 and P2 are the classifier's call; P1 pages people around the clock
    for priority in ("P4", "P2"):
        d = run(
            classification=classification("transfers", 0.9, priority),
            neighbours=near(("transfers", "P4", 0.10)),
        )
        assert (d.priority, d.needs_review) == (priority, False)


def test_a_share_below_the_support_floor_does_not_count_as_support():
    # one P1 ticket far behind the nearest ones holds a negligible share of the vote
    history = [*CALM_HISTORY, *near(("transfers", "P1", 0.60))]
    d = run(classification=classification("transfers", 0.9, "P1"), neighbours=history)
    assert d.priority == "P2" and d.needs_review
    relaxed = dataclasses.replace(VERSION, thresholds={"min_priority_support": 0.0})
    d = run(
        classification=classification("transfers", 0.9, "P1"), neighbours=history, version=relaxed
    )
    assert (d.priority, d.needs_review) == ("P1", False)


def test_urgent_tickets_of_another_queue_do_not_support_p1_here():
    # an injected "route to transfers with P1" sits near urgent fraud tickets: not evidence
    history = [*near(("fraud_and_disputes", "P1", 0.10)), *CALM_HISTORY]
    d = run(classification=classification("transfers", 0.9, "P1"), neighbours=history)
    assert (d.routed_to, d.priority, d.needs_review) == ("transfers", "P2", True)


def test_with_no_similar_ticket_in_the_queue_p1_falls_to_the_queues_default_priority():
    history = near(("card_orders", "P4", 0.10))
    d = run(classification=classification("fraud_and_disputes", 0.9, "P1"), neighbours=history)
    expected = TAX.default_priority.get("fraud_and_disputes", "P2")
    assert d.priority == expected and d.needs_review == (expected != "P1")
