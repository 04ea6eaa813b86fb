"""What the replay records of each judged window: the composite's verdict and the peers'."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from evals.replay.peers import PeerVerdict
from evals.replay.stream import WindowSpec


@dataclass(frozen=True)
class SignalPoint:
    """One signal's value on one window, as the monitor stored it in ``signal_values``."""

    value: float | None
    threshold: float | None
    lower_threshold: float | None
    drifted: bool | None
    insufficient: bool


@dataclass(frozen=True)
class StreamVerdict:
    """The monitor's verdict on one window of one alert stream (segment, window size)."""

    segment: str
    window_size_s: int
    window_end: str
    severity: str
    insufficient: bool
    opened: bool
    alert_open: bool
    # a past window re-judged on its late labels at this horizon ("1h"); None: judged at close
    horizon: str | None = None


@dataclass(frozen=True)
class CompositeVerdict:
    """The monitor's verdict on one window (segment ``all``), read back from its tables."""

    severity: str
    score: float | None
    warning_threshold: float | None
    critical_threshold: float | None
    alert_open: bool
    events: list[str]
    what_moved: str | None
    summary: str | None
    top_signals: list[str]
    signals: dict[str, SignalPoint]
    insufficient: bool
    reason: str | None = None
    seconds: float = 0.0
    # every stream computed for this window: each segment at each window size closing in it
    streams: list[StreamVerdict] = field(default_factory=list)

    @property
    def opened(self) -> bool:
        return any(e.startswith("opened") for e in self.events)


@dataclass(frozen=True)
class WindowArrays:
    """The arrays both peers judge: class probabilities (n, K) and embeddings (n, d)."""

    probs: NDArray[np.float64]
    embeddings: NDArray[np.float32]

    @property
    def n(self) -> int:
        return int(self.probs.shape[0])


class MonitorPort(Protocol):
    """What a replay needs from the monitor (implemented over its service in monitor_port)."""

    @property
    def alpha(self) -> float:
        """The composite's per-window false-alarm rate (warning level)."""
        ...

    def rebaseline(self, *, start: Any, end: Any) -> None:
        """Make [start, end) of the production version's traffic the reference."""
        ...

    def compute(self, window: WindowSpec) -> CompositeVerdict:
        """Compute the window ending at ``window.end`` and read its verdict back."""
        ...

    def reference_arrays(self) -> WindowArrays:
        """The reference's arrays, as the monitor loads them."""
        ...

    def window_arrays(self, window: WindowSpec) -> WindowArrays:
        """A window's arrays, as the monitor loads them."""
        ...


@dataclass
class WindowRecord:
    """Everything the report shows about one window."""

    window: WindowSpec
    composite: CompositeVerdict | None
    peers: list[PeerVerdict] = field(default_factory=list)
    reviews: dict[str, int] = field(default_factory=dict)
    altered: dict[str, int] = field(default_factory=dict)
    routed_modes: dict[str, int] = field(default_factory=dict)

    def peer(self, name: str) -> PeerVerdict | None:
        return next((p for p in self.peers if p.detector == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "window": {
                **asdict(self.window),
                "start": self.window.start.isoformat(),
                "end": self.window.end.isoformat(),
            },
            "composite": None if self.composite is None else asdict(self.composite),
            "peers": [asdict(p) for p in self.peers],
            "reviews": self.reviews,
            "altered": self.altered,
            "routed_modes": self.routed_modes,
        }
