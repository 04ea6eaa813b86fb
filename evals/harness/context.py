"""The graph's context for an eval: the real nodes, classifier and decision rules, with

- the version fixed to the one under test (no labels, no canary),
- no kill switches (an eval measures the version, not today's operations),
- embeddings computed beforehand in large batches by the real embedder,
- a recorder that keeps the decision in memory: no ticket, decision or span is written, so
  evals never reach the monitor's windows, the review queue or the history.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

import numpy as np

from agent.graph.state import Recorded, ResolvedVersion, RouteState, SpanRecord
from agent.services.recorder import decision_values


class FixedVersion:
    """``VersionResolver`` that always answers the version under test."""

    def __init__(self, version: ResolvedVersion) -> None:
        self.version = version

    async def resolve(self, *, sticky_key: str) -> ResolvedVersion | None:
        return self.version


class NoSwitches:
    """``SwitchBoard`` with every kill switch off."""

    async def enabled(self) -> frozenset[str]:
        return frozenset()


class PrecomputedEmbedder:
    """``TextEmbedder`` answering vectors the real embedder computed for these texts."""

    def __init__(self, model_name: str, vectors: dict[str, np.ndarray]) -> None:
        self._model_name = model_name
        self._vectors = vectors

    @property
    def model_name(self) -> str:
        return self._model_name

    async def embed(self, text: str) -> np.ndarray:
        try:
            return self._vectors[text]
        except KeyError:
            raise LookupError("no precomputed embedding for this text") from None


class CapturingRecorder:
    """``DecisionRecorder`` that builds the decision row as production would and writes
    nothing: the row comes back in the graph's final state."""

    async def record(self, state: RouteState) -> Recorded:
        started, t0 = datetime.now(UTC), time.perf_counter()
        spans = state.get("spans", [])
        first = min((s.started_at for s in spans), default=started)
        values = decision_values(state, latency_ms=(started - first).total_seconds() * 1000)
        span = SpanRecord(
            name="record",
            span_id=secrets.token_hex(8),
            started_at=started,
            duration_ms=(time.perf_counter() - t0) * 1000,
            input={"spans": len(spans) + 1},
            output={"decision_id": str(values["id"]), "stored": False},
        )
        row = {**values, "is_final": True, "is_shadow": False, "created_at": started}
        return Recorded(row, span)
