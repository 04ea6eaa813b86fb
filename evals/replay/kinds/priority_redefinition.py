"""``priority_redefinition``: new priority rules for the true labels only."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from agent.datasets.records import LabelledTicket
from agent.taxonomy import PRIORITIES
from evals.replay.kinds.base import Draw, PhaseBase, Tickets, register
from evals.replay.rewrite import redefined_priority

if TYPE_CHECKING:
    from agent.taxonomy import Taxonomy


@register("priority_redefinition", drift=True)
class PriorityRedefinition(PhaseBase):
    """New priority rules for the true labels only (the agent keeps the old ones):
    per intent, or for every intent of a queue."""

    kind: Literal["priority_redefinition"]
    intent_priority: dict[str, str] = Field(default_factory=dict)
    queue_priority: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rules(self) -> PriorityRedefinition:
        if not self.intent_priority and not self.queue_priority:
            raise ValueError("give intent_priority or queue_priority")
        bad = {
            k: v
            for k, v in (self.intent_priority | self.queue_priority).items()
            if v not in PRIORITIES
        }
        if bad:
            raise ValueError(f"priorities must be one of {', '.join(PRIORITIES)}: {bad}")
        return self

    def tickets(self, draw: Draw) -> Tickets:
        return [self._reprioritised(r) for r in draw.calm.draw(draw.n)]

    def _reprioritised(self, r: LabelledTicket) -> tuple[LabelledTicket, str | None]:
        new = redefined_priority(
            intent=r.intent,
            queue=r.queue,
            priority=r.priority,
            intent_priority=self.intent_priority,
            queue_priority=self.queue_priority,
        )
        return (replace(r, priority=new), "priority") if new != r.priority else (r, None)

    def data_problems(
        self, *, intents: set[str], queues: set[str], taxonomy: Taxonomy
    ) -> list[str]:
        bad_q = sorted(set(self.queue_priority) - queues)
        bad_i = sorted(set(self.intent_priority) - set(taxonomy.intents))
        if bad_q or bad_i:
            return [f"phase {self.name}: unknown queues {bad_q} / intents {bad_i}"]
        return []
