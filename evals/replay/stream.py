"""The tickets of a replay, window by window on the simulated clock. Pure and seeded.

Window 0 starts at ``clock.start``; the reference period is the first ``reference.windows``
windows, then each phase takes its windows in order. Each ticket carries its true label (what
simulated reviewers know), the window and phase it belongs to, and what the phase did to it.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from agent.datasets.records import LabelledTicket
from evals.replay.kinds import Draw, get_kind
from evals.replay.pools import Pools
from evals.replay.scenario import Phase, Scenario

REFERENCE = "reference"


@dataclass(frozen=True, slots=True)
class StreamTicket:
    """A ticket to post: text, true route, when it arrives, and where it sits in the replay."""

    external_id: str
    text: str
    queue: str
    priority: str
    intent: str | None
    received_at: datetime
    window: int
    phase: str
    altered: str | None = None
    channel: str = "web"
    customer_id: str | None = None


def stream_ticket(
    external_id: str,
    record: LabelledTicket,
    at: datetime,
    window: int,
    phase: str,
    altered: str | None = None,
) -> StreamTicket:
    """A labelled ticket placed on the replay's clock."""
    return StreamTicket(
        external_id,
        record.text,
        record.queue,
        record.priority,
        record.intent,
        at,
        window,
        phase,
        altered,
        record.channel or "web",
        record.customer_id,
    )


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """One window of the clock: [start, end), its phase and phase kind, its tickets."""

    index: int
    start: datetime
    end: datetime
    phase: str
    kind: str
    n_tickets: int
    intensity: float = 0.0


@dataclass(frozen=True)
class Stream:
    windows: list[WindowSpec]
    tickets: list[StreamTicket]

    def in_window(self, index: int) -> list[StreamTicket]:
        return [t for t in self.tickets if t.window == index]

    @property
    def reference_windows(self) -> list[WindowSpec]:
        return [w for w in self.windows if w.phase == REFERENCE]


def _bucket(record: LabelledTicket) -> str:
    return record.intent if record.intent is not None else f"queue:{record.queue}"


class Source:
    """Draws tickets without replacement, per bucket (intent, or queue where there is none);
    a bucket that runs out is reshuffled and drawn again (after the reference is taken, its
    tickets never come back)."""

    def __init__(self, records: Sequence[LabelledTicket], rng: np.random.Generator) -> None:
        self._rng = rng
        self._all: dict[str, list[LabelledTicket]] = defaultdict(list)
        for r in records:
            self._all[_bucket(r)].append(r)
        self._left: dict[str, list[LabelledTicket]] = {}
        self.base = {b: len(rs) / len(records) for b, rs in self._all.items()} if records else {}
        self.queue_of = {b: rs[0].queue for b, rs in self._all.items()}

    def retire(self, taken: Sequence[LabelledTicket]) -> None:
        """Never draw these again (the reference period's tickets)."""
        ids = {id(t) for t in taken}
        for bucket, records in self._all.items():
            kept = [r for r in records if id(r) not in ids]
            self._all[bucket] = kept or records
            self._left.pop(bucket, None)

    def _pop(self, bucket: str) -> LabelledTicket:
        left = self._left.get(bucket)
        if not left:
            pool = self._all[bucket]
            left = [pool[i] for i in self._rng.permutation(len(pool))]
            self._left[bucket] = left
        return left.pop()

    def draw(self, n: int, weights: Mapping[str, float] | None = None) -> list[LabelledTicket]:
        """``n`` tickets; bucket b is chosen with probability proportional to weights[b]
        (default: its share of the pool)."""
        w = dict(weights) if weights is not None else self.base
        buckets = [b for b in w if w[b] > 0 and b in self._all]
        if n <= 0 or not buckets:
            return []
        p = np.array([w[b] for b in buckets], dtype=float)
        counts = self._rng.multinomial(n, p / p.sum())
        out = [self._pop(b) for b, c in zip(buckets, counts, strict=True) for _ in range(c)]
        return [out[i] for i in self._rng.permutation(len(out))]


def intensity(phase: Phase, position: int) -> float:
    """How far into its ramp a phase is at its ``position``-th window (1 = full)."""
    return min(1.0, (position + 1) / phase.ramp_windows)


def phase_tickets(
    phase: Phase, position: int, n: int, calm: Source, new: Source, rng: np.random.Generator
) -> list[tuple[LabelledTicket, str | None]]:
    """The (possibly altered) labelled tickets of one window of ``phase``, with what changed:
    the phase's kind draws them (:mod:`evals.replay.kinds`)."""
    return phase.tickets(Draw(n, intensity(phase, position), calm, new, rng))


def arrival_times(
    start: datetime, window: timedelta, n: int, rng: np.random.Generator
) -> list[datetime]:
    """``n`` sorted arrival times spread uniformly over [start, start + window)."""
    offsets = np.sort(rng.random(n)) * window.total_seconds()
    return [start + timedelta(seconds=float(round(s, 6))) for s in offsets]


def generate(scenario: Scenario, pools: Pools) -> Stream:
    """Every window and ticket of a pool-mode scenario."""
    rng = np.random.default_rng(scenario.seed)
    calm, new = Source(pools.stream, rng), Source(pools.new, rng)
    width, per = scenario.clock.window, scenario.tickets_per_window
    windows: list[WindowSpec] = []
    tickets: list[StreamTicket] = []

    def add(phase: str, kind: str, level: float, batch: list[tuple[LabelledTicket, str | None]]):
        index = len(windows)
        start = scenario.clock.start + index * width
        windows.append(WindowSpec(index, start, start + width, phase, kind, len(batch), level))
        times = arrival_times(start, width, len(batch), rng)
        for i, ((r, altered), at) in enumerate(zip(batch, times, strict=True)):
            ext = f"replay:{scenario.name}:w{index}:{i}"
            tickets.append(stream_ticket(ext, r, at, index, phase, altered))

    reference = calm.draw(scenario.reference.windows * per)
    calm.retire(reference)
    for w in range(scenario.reference.windows):
        add(REFERENCE, "stationary", 0.0, [(r, None) for r in reference[w * per : (w + 1) * per]])
    for phase in scenario.phases:
        assert phase.windows is not None
        for position in range(phase.windows):
            batch = phase_tickets(phase, position, per, calm, new, rng)
            level = intensity(phase, position) if get_kind(phase.kind).drift else 0.0
            add(phase.name, phase.kind, level, batch)
    return Stream(windows, tickets)


def recorded(scenario: Scenario, pools: Pools) -> Stream:
    """The windows and tickets of a recorded-mode scenario, at their recorded times."""
    width = scenario.clock.window
    start = scenario.reference.start or scenario.history.until
    assert start is not None
    bounds = [(REFERENCE, "stationary", start + scenario.reference.windows * width)]
    bounds += [(p.name, p.kind, p.until) for p in scenario.phases if p.until is not None]
    windows: list[WindowSpec] = []
    tickets: list[StreamTicket] = []
    records = [r for r in pools.stream if r.timestamp is not None and r.timestamp >= start]
    times = [r.timestamp for r in records if r.timestamp is not None]
    for index, (w_start, phase, kind) in enumerate(_recorded_windows(start, width, bounds)):
        lo = bisect.bisect_left(times, w_start)
        hi = bisect.bisect_left(times, w_start + width)
        windows.append(WindowSpec(index, w_start, w_start + width, phase, kind, hi - lo))
        for i, r in enumerate(records[lo:hi]):
            assert r.timestamp is not None
            ext = r.external_id or f"replay:{scenario.name}:w{index}:{i}"
            tickets.append(stream_ticket(ext, r, r.timestamp, index, phase))
    return Stream(windows, tickets)


def _recorded_windows(
    start: datetime, width: timedelta, bounds: list[tuple[str, str, datetime]]
) -> Iterator[tuple[datetime, str, str]]:
    """(window start, phase, kind) for each window; a window belongs to the phase it starts in."""
    at = start
    for phase, kind, until in bounds:
        while at < until:
            yield at, phase, kind
            at += width


def build_stream(scenario: Scenario, pools: Pools) -> Stream:
    """The replay's stream, in pool or recorded mode."""
    return generate(scenario, pools) if scenario.mode == "pool" else recorded(scenario, pools)
