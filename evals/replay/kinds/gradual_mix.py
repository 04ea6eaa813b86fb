"""``gradual_mix``: queues' shares of traffic move linearly over the ramp."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from evals.replay.kinds.base import Draw, PhaseBase, Tickets, register

if TYPE_CHECKING:
    from agent.taxonomy import Taxonomy


@register("gradual_mix", drift=True)
class GradualMix(PhaseBase):
    """Queues' shares of traffic move: each queue's sampling weight is multiplied by its
    factor, reached linearly over ``ramp_windows``."""

    kind: Literal["gradual_mix"]
    queue_weights: dict[str, float] = Field(min_length=1)

    @field_validator("queue_weights")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w <= 0 for w in v.values()):
            raise ValueError("queue weights must be positive")
        return v

    def tickets(self, draw: Draw) -> Tickets:
        calm = draw.calm
        weights = {
            b: s * (1.0 + (self.queue_weights.get(calm.queue_of[b], 1.0) - 1.0) * draw.level)
            for b, s in calm.base.items()
        }
        return [(r, None) for r in calm.draw(draw.n, weights)]

    def data_problems(
        self, *, intents: set[str], queues: set[str], taxonomy: Taxonomy
    ) -> list[str]:
        bad = sorted(set(self.queue_weights) - queues)
        return [f"phase {self.name}: unknown queues {bad}"] if bad else []
