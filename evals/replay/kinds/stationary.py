"""``stationary``: calm traffic in its usual mix (pool mode), or a calm period (recorded)."""

from __future__ import annotations

from typing import Literal

from evals.replay.kinds.base import Draw, PhaseBase, Tickets, register


@register("stationary", drift=False, modes=("pool", "recorded"))
class Stationary(PhaseBase):
    kind: Literal["stationary"]

    def tickets(self, draw: Draw) -> Tickets:
        return [(r, None) for r in draw.calm.draw(draw.n)]
