"""``drift`` (recorded mode): a period of a team's own tickets known to have drifted."""

from __future__ import annotations

from typing import Literal

from evals.replay.kinds.base import PhaseBase, register


@register("drift", drift=True, modes=("recorded",))
class RecordedDrift(PhaseBase):
    """Recorded mode: a period known to have drifted (the file's tickets as they came)."""

    kind: Literal["drift"]
