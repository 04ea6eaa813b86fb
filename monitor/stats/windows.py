"""Windows aligned to the clock, the segments of a window, and size buckets.

A window of size s ends on a multiple of s since the Unix epoch (UTC): 15-minute windows end
at :00, :15, :30, :45; daily ones at midnight UTC. A ticket belongs to the window whose
[start, end) holds its ``received_at``. Recomputing a window therefore always addresses the
same rows, on a live clock or a simulated one (replays, backfills).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ALL = "all"
SEGMENT_KINDS = ("queue", "priority", "channel", "tenant")
# Candidate streams: a canary's and a shadow's decisions are judged in windows of their own
# (``version:canary``, ``version:shadow``); every other segment holds production's only.
STREAM_KIND = "version"
CANDIDATE_STREAMS = ("canary", "shadow")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
MIN_WINDOW_S = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"30d"`` as a timedelta."""
    match = _DURATION.match(text.lower())
    if not match:
        raise ValueError(f"invalid duration {text!r}: use a number and s, m, h or d (e.g. 15m)")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def format_duration(seconds: int) -> str:
    """The shortest exact spelling: 900 -> ``15m``, 86400 -> ``1d``."""
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_window_sizes(text: str) -> list[int]:
    """Comma-separated durations as sorted, distinct window sizes in seconds."""
    sizes = sorted({int(parse_duration(part).total_seconds()) for part in text.split(",")})
    if not sizes or sizes[0] < MIN_WINDOW_S:
        raise ValueError(f"window sizes must be at least {MIN_WINDOW_S}s: {text!r}")
    return sizes


def parse_horizons(text: str) -> list[int]:
    """Comma-separated durations as sorted, distinct re-judgement horizons in seconds (> 0)."""
    parts = [part for part in text.split(",") if part.strip()]
    horizons = sorted({int(parse_duration(part).total_seconds()) for part in parts})
    if horizons and horizons[0] <= 0:
        raise ValueError(f"horizons must be positive: {text!r}")
    return horizons


def parse_segment_kinds(text: str) -> tuple[str, ...]:
    """The segment kinds named in a comma-separated setting (may be empty)."""
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in SEGMENT_KINDS]
    if unknown:
        raise ValueError(f"unknown segment kinds {unknown}; known: {list(SEGMENT_KINDS)}")
    return kinds


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) of ``size_s`` seconds, ``end`` on a multiple of the size."""

    size_s: int
    end: datetime

    @property
    def start(self) -> datetime:
        return self.end - timedelta(seconds=self.size_s)

    @property
    def label(self) -> str:
        return f"{format_duration(self.size_s)} ending {self.end.isoformat()}"


def as_utc(at: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken to be UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def closed_window(size_s: int, at: datetime) -> Window:
    """The last window that closed at or before ``at``."""
    elapsed = (as_utc(at) - EPOCH).total_seconds()
    end = EPOCH + timedelta(seconds=math.floor(elapsed / size_s) * size_s)
    return Window(size_s, end)


def window_ending(size_s: int, end: datetime) -> Window:
    """The window ending exactly at ``end``, which must lie on the size's grid."""
    window = closed_window(size_s, end)
    if window.end != as_utc(end):
        raise ValueError(f"{end.isoformat()} is not the end of a {format_duration(size_s)} window")
    return window


def windows_between(size_s: int, start: datetime, end: datetime) -> Iterator[Window]:
    """Every window that ends in (start, end], oldest first."""
    last = closed_window(size_s, end)
    current = closed_window(size_s, start)
    step = timedelta(seconds=size_s)
    while current.end < last.end:
        current = Window(size_s, current.end + step)
        yield current


def segment_kind(segment: str) -> str:
    """``all``, or the kind of ``queue:cards`` (``queue``)."""
    if segment == ALL:
        return ALL
    kind, sep, value = segment.partition(":")
    if kind == STREAM_KIND and value in CANDIDATE_STREAMS:
        return kind
    if not sep or kind not in SEGMENT_KINDS or not value:
        raise ValueError(
            f"invalid segment {segment!r}: use 'all', queue:/priority:/channel:/tenant:, "
            "version:canary or version:shadow"
        )
    return kind


def is_candidate_stream(segment: str) -> bool:
    """``version:canary`` or ``version:shadow``: a candidate's own windows."""
    return segment != ALL and segment_kind(segment) == STREAM_KIND


def stream_of(segment: str) -> str:
    """Whose decisions a segment holds: ``production``, ``canary`` or ``shadow``."""
    return segment.partition(":")[2] if is_candidate_stream(segment) else "production"


def segment_value(segment: str) -> str | None:
    """The value of a segment (``cards`` of ``queue:cards``); None for ``all``."""
    segment_kind(segment)
    return None if segment == ALL else segment.partition(":")[2]


def segments_to_compute(
    seen: Iterable[tuple[str, str, str, str]], kinds_setting: str, streams: Iterable[str] = ()
) -> list[str]:
    """``all`` and the watched segments among production's (queue, priority, channel, tenant)
    seen, and ``version:<stream>`` for each candidate stream seen."""
    kinds = parse_segment_kinds(kinds_setting)
    out = {ALL} | {f"{STREAM_KIND}:{s}" for s in streams if s in CANDIDATE_STREAMS}
    for values in seen:
        for kind, value in zip(SEGMENT_KINDS, values, strict=True):
            if kind in kinds and value:
                out.add(f"{kind}:{value}")
    return sorted(out, key=lambda s: (s != ALL, s))


def n_bucket(n: int, *, floor: int = 1) -> int:
    """Lower edge of ``n``'s bucket: buckets grow by sqrt(2) (32, 45, 64, 90, 128, ...).

    A calibration at the lower edge has a wider null than any window in the bucket would, so
    sharing it across the bucket errs on the side of fewer false alarms. Windows of at least
    ``floor`` tickets never share a bucket with smaller ones (edge raised to ``floor``), so
    signals that need ``floor`` tickets are calibrated whenever the window can compute them.
    """
    if n < 1:
        raise ValueError("a bucket needs n >= 1")
    k = math.floor(2 * math.log2(n) + 1e-9)
    edge = max(1, min(math.floor(2 ** (k / 2) + 1e-9), n))
    return max(edge, floor) if n >= floor else edge
