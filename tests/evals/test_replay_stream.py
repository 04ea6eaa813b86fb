"""Stream generation: pure and seeded; each phase kind does what it says, and nothing leaks."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.datasets.records import LabelledTicket
from agent.taxonomy import load_taxonomy
from evals.replay.pools import split_pools
from evals.replay.rewrite import outage_text, redefined_priority, substitute
from evals.replay.scenario import parse_scenario
from evals.replay.stream import REFERENCE, Stream, build_stream

TAXONOMY = load_taxonomy("banking77")
INTENTS = [
    "card_arrival",
    "getting_virtual_card",
    "disposable_card_limits",
    "failed_transfer",
    "pending_transfer",
    "top_up_failed",
    "lost_or_stolen_card",
    "exchange_rate",
]


def records(per_intent: int = 120) -> list[LabelledTicket]:
    """Synthetic labelled tickets over a few real intents (made-up texts)."""
    out = []
    for intent in INTENTS:
        queue, priority = TAXONOMY.route_for_intent(intent)
        for i in range(per_intent):
            words = intent.replace("_", " ")
            text = f"Question {i} about my card and the app: {words} (top up, transfer)"
            out.append(LabelledTicket(text, queue, priority, intent, external_id=f"{intent}:{i}"))
    return out


def scenario(*phases: dict[str, Any], **changes: Any) -> Any:
    raw: dict[str, Any] = {
        "name": "synthetic",
        "seed": 3,
        "dataset": {"name": "banking77"},
        "tickets_per_window": 40,
        "reference": {"windows": 4},
        "history": {"share": 0.3, "hold_out_intents": ["getting_virtual_card"]},
        "phases": [{"name": "calm", "kind": "stationary", "windows": 3}, *phases],
    }
    return parse_scenario({**raw, **changes})


def stream_of(s: Any, per_intent: int = 120) -> tuple[Any, Stream]:
    pools = split_pools(s, records(per_intent))
    return pools, build_stream(s, pools)


def phase_tickets(stream: Stream, phase: str) -> list[Any]:
    return [t for t in stream.tickets if t.phase == phase]


def test_windows_follow_the_clock_and_the_phases() -> None:
    s = scenario({"name": "more", "kind": "stationary", "windows": 2})
    _, stream = stream_of(s)
    assert [w.phase for w in stream.windows] == [REFERENCE] * 4 + ["calm"] * 3 + ["more"] * 2
    for w in stream.windows:
        assert w.start == s.clock.start + w.index * timedelta(hours=1)
        inside = stream.in_window(w.index)
        assert len(inside) == w.n_tickets == 40
        assert all(w.start <= t.received_at < w.end for t in inside)
    times = [t.received_at for t in stream.tickets]
    assert times == sorted(times)
    assert len({t.external_id for t in stream.tickets}) == len(stream.tickets)


def test_the_same_seed_gives_the_same_stream_and_another_seed_does_not() -> None:
    s = scenario()
    first, second = stream_of(s)[1], stream_of(s)[1]
    assert first.tickets == second.tickets
    other = stream_of(s.model_copy(update={"seed": 4}))[1]
    assert [t.text for t in other.tickets] != [t.text for t in first.tickets]


def test_history_reference_and_calm_come_from_disjoint_pools() -> None:
    pools, stream = stream_of(scenario())
    history = {r.external_id for r in pools.history}
    reference = [t for t in stream.tickets if t.phase == REFERENCE]
    calm = phase_tickets(stream, "calm")
    texts_of_history = {r.text for r in pools.history}
    assert not texts_of_history & {t.text for t in stream.tickets}
    assert not {t.text for t in reference} & {t.text for t in calm}
    assert history and not any(r.intent == "getting_virtual_card" for r in pools.history)
    assert not any(t.intent == "getting_virtual_card" for t in reference + calm)


def test_new_product_intents_appear_only_from_the_onset_and_ramp_up() -> None:
    launch = {
        "name": "launch",
        "kind": "new_product",
        "windows": 6,
        "intents": ["getting_virtual_card"],
        "share": 0.5,
        "ramp_windows": 3,
    }
    _, stream = stream_of(
        scenario(launch, tickets_per_window=200, reference={"windows": 2}), per_intent=300
    )
    shares = []
    for w in stream.windows:
        new = [t for t in stream.in_window(w.index) if t.intent == "getting_virtual_card"]
        assert all(t.altered == "new_product" for t in new)
        if w.phase != "launch":
            assert not new
        else:
            shares.append(len(new) / w.n_tickets)
    assert shares[0] < shares[2]
    assert shares[0] == pytest.approx(0.5 / 3, abs=0.08)
    assert sum(shares[3:]) / 3 == pytest.approx(0.5, abs=0.08)


def test_terminology_shift_substitutes_words_and_keeps_labels() -> None:
    shift = {
        "name": "rebrand",
        "kind": "terminology_shift",
        "windows": 2,
        "substitutions": {"card": "pass", "top up": "reload", "app": "portal"},
    }
    _, stream = stream_of(scenario(shift))
    changed = phase_tickets(stream, "rebrand")
    assert changed and all(t.altered == "terminology" for t in changed)
    for t in changed:
        assert "pass" in t.text and "reload" in t.text and "portal" in t.text
        assert " card " not in t.text and "top up" not in t.text
        assert (t.queue, t.priority) == TAXONOMY.route_for_intent(t.intent)
    assert all("card" in t.text for t in phase_tickets(stream, "calm"))


def test_priority_redefinition_changes_true_priorities_only() -> None:
    rules = {
        "name": "rules",
        "kind": "priority_redefinition",
        "windows": 3,
        "queue_priority": {"transfers": "P1"},
        "intent_priority": {"card_arrival": "P2"},
    }
    _, stream = stream_of(scenario(rules))
    after = phase_tickets(stream, "rules")
    for t in after:
        old = TAXONOMY.route_for_intent(t.intent)[1]
        expected = "P2" if t.intent == "card_arrival" else "P1" if t.queue == "transfers" else old
        assert t.priority == expected
        assert (t.altered == "priority") == (expected != old)
        assert t.text.startswith("Question")
    assert any(t.altered == "priority" for t in after)
    for t in phase_tickets(stream, "calm"):
        assert t.priority == TAXONOMY.route_for_intent(t.intent)[1]


def test_gradual_mix_moves_queue_shares_along_the_ramp() -> None:
    mix = {
        "name": "wave",
        "kind": "gradual_mix",
        "windows": 8,
        "ramp_windows": 4,
        "queue_weights": {"fraud_and_disputes": 5.0},
    }
    _, stream = stream_of(
        scenario(mix, tickets_per_window=400, reference={"windows": 1}), per_intent=400
    )

    def fraud_share(phase: str, windows: slice) -> float:
        ws = [w for w in stream.windows if w.phase == phase][windows]
        tickets = [t for w in ws for t in stream.in_window(w.index)]
        return sum(t.queue == "fraud_and_disputes" for t in tickets) / len(tickets)

    calm, early = fraud_share("calm", slice(None)), fraud_share("wave", slice(0, 1))
    late = fraud_share("wave", slice(4, None))
    base = 1 / 7  # one fraud intent among the seven calm intents
    assert calm == pytest.approx(base, abs=0.04)
    assert early == pytest.approx(2 * base / (1 + base), abs=0.05)  # weight 2 after 1 of 4
    assert late == pytest.approx(5 * base / (1 + 4 * base), abs=0.04)
    assert [w.intensity for w in stream.windows if w.phase == "wave"][:4] == [0.25, 0.5, 0.75, 1]


def test_an_outage_adds_reworded_tickets_of_one_queue() -> None:
    burst = {
        "name": "outage",
        "kind": "outage_burst",
        "windows": 2,
        "queue": "transfers",
        "intents": ["failed_transfer"],
        "extra_share": 0.5,
        "wording": ["Is the system down? {text}"],
    }
    _, stream = stream_of(scenario(burst, tickets_per_window=100), per_intent=200)
    for w in stream.windows:
        tickets = stream.in_window(w.index)
        extra = [t for t in tickets if t.altered == "outage"]
        if w.phase == "outage":
            assert 30 <= len(extra) <= 75 and w.n_tickets == 100 + len(extra)
            assert all(t.intent == "failed_transfer" for t in extra)
            assert all(t.text.startswith("Is the system down? question") for t in extra)
        else:
            assert not extra and w.n_tickets == 100


def test_a_reference_larger_than_half_the_stream_is_refused() -> None:
    from evals.replay.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="more than half"):
        stream_of(scenario(reference={"windows": 20}, tickets_per_window=100))


def test_recorded_mode_replays_tickets_at_their_times() -> None:
    t0 = datetime(2026, 2, 1, tzinfo=UTC)
    rows = [
        LabelledTicket(f"ticket {i}", "transfers", "P3", timestamp=t0 + timedelta(minutes=7 * i))
        for i in range(-100, 200)
    ]
    s = parse_scenario(
        {
            "name": "team",
            "mode": "recorded",
            "dataset": {"file": "t.jsonl"},
            "history": {"until": "2026-02-01T00:00:00Z"},
            "reference": {"windows": 4},
            "phases": [
                {"name": "calm", "kind": "stationary", "until": "2026-02-01T08:00:00Z"},
                {"name": "incident", "kind": "drift", "until": "2026-02-01T12:00:00Z"},
            ],
        }
    )
    pools = split_pools(s, rows)
    stream = build_stream(s, pools)
    assert len(pools.history) == 100
    assert [w.phase for w in stream.windows] == [REFERENCE] * 4 + ["calm"] * 4 + ["incident"] * 4
    assert stream.windows[-1].kind == "drift"
    assert sum(w.n_tickets for w in stream.windows) == len(stream.tickets) == 103
    assert all(t.received_at < datetime(2026, 2, 1, 12, tzinfo=UTC) for t in stream.tickets)
    counts = Counter(t.window for t in stream.tickets)
    assert counts[0] in (8, 9)


def test_substitution_keeps_case_and_whole_words() -> None:
    subs = {"card": "pass", "top up": "reload"}
    assert substitute("My Card and my CARD; cardholder", subs) == "My Pass and my PASS; cardholder"
    assert substitute("I want to top  up now", subs) == "I want to reload now"
    assert substitute("Top up please", subs) == "Reload please"


def test_outage_wording_and_priority_rules() -> None:
    assert outage_text("Is it down? {text}", "My transfer failed") == (
        "Is it down? my transfer failed"
    )
    assert outage_text("{text} Help!", "My transfer failed") == "My transfer failed Help!"
    rules = {"intent_priority": {"a": "P1"}, "queue_priority": {"q": "P2"}}
    assert redefined_priority(intent="a", queue="q", priority="P4", **rules) == "P1"
    assert redefined_priority(intent="b", queue="q", priority="P4", **rules) == "P2"
    assert redefined_priority(intent=None, queue="z", priority="P4", **rules) == "P4"
