"""``outage_burst``: one queue spikes, its extra tickets worded like an outage report."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from evals.replay.kinds.base import Draw, PhaseBase, Tickets, register
from evals.replay.rewrite import outage_text

if TYPE_CHECKING:
    from agent.taxonomy import Taxonomy


@register("outage_burst", drift=True)
class OutageBurst(PhaseBase):
    """One queue spikes: ``extra_share`` more tickets (of the window's volume) from its
    intents, each worded by one of ``wording`` (``{text}`` is the original ticket)."""

    kind: Literal["outage_burst"]
    queue: str
    intents: list[str] = Field(default_factory=list)
    extra_share: float = Field(gt=0, le=5)
    wording: list[str] = Field(min_length=1)

    @field_validator("wording")
    @classmethod
    def _has_text(cls, v: list[str]) -> list[str]:
        bad = [w for w in v if "{text}" not in w]
        if bad:
            raise ValueError(f"each wording must contain {{text}}: {bad[:3]}")
        return v

    def tickets(self, draw: Draw) -> Tickets:
        calm, rng = draw.calm, draw.rng
        extra = int(rng.poisson(self.extra_share * draw.level * draw.n))
        wanted = {
            b: s
            for b, s in calm.base.items()
            if calm.queue_of[b] == self.queue and (not self.intents or b in self.intents)
        }
        burst: Tickets = []
        for r in calm.draw(extra, wanted):
            template = self.wording[int(rng.integers(len(self.wording)))]
            burst.append((replace(r, text=outage_text(template, r.text)), "outage"))
        mixed: Tickets = [(r, None) for r in calm.draw(draw.n)] + burst
        return [mixed[i] for i in rng.permutation(len(mixed))]

    def data_problems(
        self, *, intents: set[str], queues: set[str], taxonomy: Taxonomy
    ) -> list[str]:
        if self.queue not in queues:
            return [f"phase {self.name}: unknown queue {self.queue!r}"]
        foreign = sorted(set(self.intents) - set(taxonomy.queue(self.queue).intents))
        return [f"phase {self.name}: intents {foreign} are not in {self.queue}"] if foreign else []
