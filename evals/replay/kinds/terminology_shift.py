"""``terminology_shift``: systematic word substitutions in a share of tickets."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import Field

from evals.replay.kinds.base import Draw, PhaseBase, Tickets, register
from evals.replay.rewrite import substitute


@register("terminology_shift", drift=True)
class TerminologyShift(PhaseBase):
    """Systematic word substitutions in ``share`` of tickets (whole words, case kept)."""

    kind: Literal["terminology_shift"]
    substitutions: dict[str, str] = Field(min_length=1)
    share: float = Field(default=1.0, gt=0, le=1)

    def tickets(self, draw: Draw) -> Tickets:
        return [
            (replace(r, text=substitute(r.text, self.substitutions)), "terminology")
            if draw.rng.random() < self.share * draw.level
            else (r, None)
            for r in draw.calm.draw(draw.n)
        ]
