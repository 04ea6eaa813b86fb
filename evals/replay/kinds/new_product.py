"""``new_product``: intents held out of history appear, ramping up to ``share`` of traffic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from evals.replay.kinds.base import Draw, PhaseBase, Tickets, register

if TYPE_CHECKING:
    from agent.taxonomy import Taxonomy


@register("new_product", drift=True)
class NewProduct(PhaseBase):
    """Intents held out of history appear; their share of traffic ramps up to ``share``."""

    kind: Literal["new_product"]
    intents: list[str] = Field(min_length=1)
    share: float = Field(gt=0, le=1)

    def tickets(self, draw: Draw) -> Tickets:
        n_new = int(draw.rng.binomial(draw.n, self.share * draw.level))
        wanted = {b: s for b, s in draw.new.base.items() if b in self.intents}
        fresh: Tickets = [(r, "new_product") for r in draw.new.draw(n_new, wanted)]
        mixed = fresh + [(r, None) for r in draw.calm.draw(draw.n - n_new)]
        return [mixed[i] for i in draw.rng.permutation(len(mixed))]

    def data_problems(
        self, *, intents: set[str], queues: set[str], taxonomy: Taxonomy
    ) -> list[str]:
        missing = sorted(set(self.intents) - intents)
        return [f"phase {self.name}: no tickets with intents {missing}"] if missing else []

    def held_out_intents(self) -> set[str]:
        return set(self.intents)
