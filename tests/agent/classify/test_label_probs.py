"""Class probabilities from token logprobs and from samples: the arithmetic, on known values."""

from __future__ import annotations

import math

import pytest

from agent.classify.label_probs import (
    label_distribution,
    sample_distribution,
    token_offsets,
    value_span,
)
from agent.llm import TokenLogprob

QUEUES = ("billing", "cards", "card_fraud", "unknown")
PRIORITIES = ("P1", "P2", "P3", "P4")
CONTENT = '{"queue": "billing", "priority": "P2"}'


def tok(token: str, p: float, *alternatives: tuple[str, float]) -> TokenLogprob:
    top = ((token, math.log(p)), *((t, math.log(q)) for t, q in alternatives))
    return TokenLogprob(token=token, logprob=math.log(p), top=top)


def answer_tokens(queue_first: TokenLogprob, priority: TokenLogprob) -> list[TokenLogprob]:
    return [
        tok('{"', 1.0),
        tok("queue", 1.0),
        tok('":', 1.0),
        tok(' "', 0.99, ('"', 0.01)),
        queue_first,
        tok("ing", 0.9, ("ed", 0.1)),
        tok('",', 0.8, ('"}', 0.15)),
        tok(' "', 1.0),
        tok("priority", 1.0),
        tok('":', 1.0),
        tok(' "', 1.0),
        tok("P", 1.0),
        priority,
        tok('"}', 1.0),
    ]


def test_value_span_and_offsets_locate_the_label() -> None:
    tokens = answer_tokens(tok("bill", 0.6), tok("2", 0.7))
    start, end = value_span(CONTENT, "queue") or (0, 0)
    assert CONTENT[start:end] == "billing"
    offsets = token_offsets(tokens, CONTENT)
    assert offsets is not None and offsets[4] == start


def test_alternatives_at_the_first_token_share_out_the_mass() -> None:
    first = tok("bill", 0.6, ("card", 0.3), ("unk", 0.05), ("xyz", 0.03))
    tokens = answer_tokens(first, tok("2", 0.7))

    dist = label_distribution(tokens, CONTENT, "queue", QUEUES)

    # 'xyz' leads to no label and is renormalised away; 'card' splits over two labels;
    # 'ed' after 'bill' and the two closing tokens leave billing's share whole.
    assert dist == pytest.approx(
        {
            "billing": 0.6 / 0.95,
            "cards": 0.15 / 0.95,
            "card_fraud": 0.15 / 0.95,
            "unknown": 0.05 / 0.95,
        }
    )


def test_labels_no_listed_token_reaches_share_the_unlisted_mass_with_a_cap() -> None:
    # Listed: 0.5 + 0.2 = 0.7; the unlisted 0.3 may reach 'unknown' and 'card_fraud' only
    # through tokens less likely than the least listed (0.2): each gets min(0.15, 0.2).
    first = tok("bill", 0.5, ("cards", 0.2))
    tokens = answer_tokens(first, tok("2", 0.7))

    dist = label_distribution(tokens, CONTENT, "queue", QUEUES)

    norm = 0.5 + 0.2 + 0.15 + 0.15
    assert dist == pytest.approx(
        {
            "billing": 0.5 / norm,
            "cards": 0.2 / norm,
            "card_fraud": 0.15 / norm,
            "unknown": 0.15 / norm,
        }
    )


def test_unlisted_mass_is_capped_by_the_least_likely_listed_token() -> None:
    first = tok("bill", 0.5, ("cards", 0.05))  # unlisted 0.45, but each unseen label <= 0.05
    tokens = answer_tokens(first, tok("2", 0.7))

    dist = label_distribution(tokens, CONTENT, "queue", QUEUES)

    assert dist is not None
    assert dist["card_fraud"] == pytest.approx(0.05 / 0.65)
    assert dist["billing"] == pytest.approx(0.5 / 0.65)


def test_priority_diverges_at_its_second_token() -> None:
    priority = tok("2", 0.7, ("1", 0.2), ("3", 0.05), ("9", 0.05))
    tokens = answer_tokens(tok("bill", 1.0), priority)

    dist = label_distribution(tokens, CONTENT, "priority", PRIORITIES)

    # Unlisted mass: 0; P4 is reachable only through it, so it gets nothing.
    assert dist == pytest.approx({"P1": 0.2 / 0.95, "P2": 0.7 / 0.95, "P3": 0.05 / 0.95, "P4": 0.0})


def test_a_token_holding_the_opening_quote_reads_alternatives_after_it() -> None:
    content = '{"queue":"cards"}'
    tokens = [
        tok('{"', 1.0),
        tok("queue", 1.0),
        tok('":"cards', 0.7, ('":"card', 0.1), ('": "billing', 0.15), ('":', 0.05)),
        tok('"}', 1.0),
    ]

    dist = label_distribution(tokens, content, "queue", QUEUES)

    # '": "billing' differs only in a space; '":' stops before the value and decides nothing.
    norm = 0.7 + 0.1 + 0.15
    assert dist == pytest.approx(
        {
            "cards": (0.7 + 0.05) / norm,
            "card_fraud": 0.05 / norm,
            "billing": 0.15 / norm,
            "unknown": 0.0,
        }
    )


def test_distribution_sums_to_one_and_favours_a_confident_answer() -> None:
    first = tok("bill", 0.8, ("card", 0.1), ("unknown", 0.02))
    tokens = answer_tokens(first, tok("2", 0.9, ("1", 0.05)))

    queues = label_distribution(tokens, CONTENT, "queue", QUEUES)
    priorities = label_distribution(tokens, CONTENT, "priority", PRIORITIES)

    assert queues is not None and priorities is not None
    assert sum(queues.values()) == pytest.approx(1.0)
    assert sum(priorities.values()) == pytest.approx(1.0)
    assert max(queues, key=queues.__getitem__) == "billing"
    assert max(priorities, key=priorities.__getitem__) == "P2"


def test_unreadable_logprobs_give_none() -> None:
    tokens = answer_tokens(tok("bill", 0.6), tok("2", 0.7))
    assert label_distribution(tokens, '{"queue": "other"}', "queue", QUEUES) is None
    assert label_distribution(tokens[:3], CONTENT, "queue", QUEUES) is None
    assert label_distribution(tokens, CONTENT, "queue", ("cards", "unknown")) is None


def test_sample_frequencies_are_lightly_smoothed() -> None:
    dist = sample_distribution(["cards", "cards", "billing", "bogus"], QUEUES, smoothing=0.4)

    # Three valid samples; 0.4 pseudo-samples spread over four labels.
    assert dist == pytest.approx(
        {"cards": 2.1 / 3.4, "billing": 1.1 / 3.4, "card_fraud": 0.1 / 3.4, "unknown": 0.1 / 3.4}
    )
    assert sum(dist.values()) == pytest.approx(1.0)


def test_samples_without_smoothing_are_plain_frequencies() -> None:
    assert sample_distribution(["P1", "P1", "P3", "P1"], PRIORITIES, smoothing=0) == {
        "P1": 0.75,
        "P2": 0.0,
        "P3": 0.25,
        "P4": 0.0,
    }
    with pytest.raises(ValueError):
        sample_distribution(["bogus"], PRIORITIES, smoothing=0)
