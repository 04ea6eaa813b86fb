"""Shared pieces of the LLM tests: a tiny taxonomy, neighbours, token streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

from agent.classify.base import Neighbour
from agent.taxonomy import PriorityDef, QueueDef, Taxonomy
from tests.fakes.openai_server import token_logprobs

T = TypeVar("T")

TAXONOMY = Taxonomy(
    name="tiny-bank",
    version="1",
    queues=[
        QueueDef(name="billing", description="Charges, fees, refunds.", examples=["Charged twice"]),
        QueueDef(name="cards", description="Card delivery, activation, PIN."),
        QueueDef(name="card_fraud", description="Card payments the customer did not make."),
    ],
    priorities=[
        PriorityDef(name="P1", description="Money lost now.", target_first_response="15 min"),
        PriorityDef(name="P2", description="Blocked from a service.", target_first_response="1 h"),
        PriorityDef(name="P3", description="Needs help, not urgent.", target_first_response="8 h"),
        PriorityDef(name="P4", description="Question or feedback.", target_first_response="3 d"),
    ],
)
QUEUES = ("billing", "cards", "card_fraud", "unknown")

NEIGHBOURS = [
    Neighbour("t-2", "My new card has not arrived yet.", "cards", "P3", 0.35),
    Neighbour("t-1", "I was charged a fee twice this month.", "billing", "P3", 0.12),
    Neighbour("t-3", "Please close my account forever.", "account_closure", "P3", 0.20),
]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def answer(queue: str, priority: str) -> str:
    return json.dumps({"queue": queue, "priority": priority})


def answer_logprobs(
    queue_head: str,
    queue_tail: str,
    digit: str,
    queue_alternatives: list[tuple[str, float]],
    priority_alternatives: list[tuple[str, float]],
    chosen_queue_logprob: float = -0.1,
    chosen_digit_logprob: float = -0.2,
) -> list[dict[str, Any]]:
    """Logprobs for ``{"queue": "<head><tail>", "priority": "P<digit>"}`` token by token."""
    tokens = [
        '{"',
        "queue",
        '":',
        ' "',
        queue_head,
        queue_tail,
        '",',
        ' "',
        "priority",
        '":',
        ' "',
        "P",
        digit,
        '"}',
    ]
    top = {
        4: [(queue_head, chosen_queue_logprob), *queue_alternatives],
        12: [(digit, chosen_digit_logprob), *priority_alternatives],
    }
    return token_logprobs(tokens, top)
