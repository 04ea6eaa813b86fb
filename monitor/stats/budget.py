"""One false-alarm budget for the whole deployment, split across its alert streams. Pure.

``monitor_false_alarm_period`` (30 days) means: one false alert per period for the deployment,
all segments, all window sizes, both layers together. An alert stream is one (segment, window
size); it can open an alert in two ways, each with its own share of the stream's budget:

* the *window* layer: one window's evidence passes its warning threshold, with probability
  ``window_alpha`` per window under no drift;
* the *sequential* layer (:mod:`sequential`): the CUSUM of the windows' p-values crosses its
  threshold, on average once per ``sequential_arl`` windows under no drift;
* the *late-label* layer: a past window re-judged on the labels that arrived after it closed
  (``label_accuracy`` at each of ``horizons`` re-judgements), with probability
  ``late_label_alpha`` per window and horizon under no drift.

The split (expected false alerts per period, summing to 1):

* segment ``all`` gets ``ALL_SHARE`` (half): it sees every ticket and is the one that catches a
  drift spread over the whole stream;
* the other half is shared equally by the watched segment kinds (queue, priority, channel), and
  within a kind by the segment's share of the reference's tickets: every ticket is in exactly
  one segment of each kind, so the shares of a kind sum to the kind's part (a segment the
  reference never saw has no reference to be judged against and gets none);
* a candidate stream (``version:canary``, ``version:shadow``) is judged on its own budget,
  ``ALL_SHARE`` like production's ``all``, on top of the deployment's: it exists only during a
  rollout, and its alarms speak of the candidate, not of production;
* each segment's share is split equally across the window sizes, and each stream's share
  between the layers: half to the sequential one (``SEQUENTIAL_SHARE``), a tenth to the late
  labels (``LATE_LABEL_SHARE``, itself split equally across the horizons), the rest to the
  window judged at close;
* the sequential share is halved again (``REFERENCE_TAIL_SHARE``): one half sets the CUSUM's
  ARL, the other is the probability, per reference, that the reference's own sampling error is
  larger than the CUSUM's allowance for it (``reference_tail``, per track: Bonferroni over the
  stream's tracks, as the ARL), which :func:`monitor.stats.sequential.reference_allowance`
  turns into that allowance. A reference that errs past it makes the stream drift upwards in
  calm traffic and hold one alert open; counting it as one false alert per period assumes a
  reference serves at least a period (rebaselining more often spends more).

A stream with share s and windows of size w in a period P has P / w windows per period, so
``window_alpha = (1 - SEQUENTIAL_SHARE - LATE_LABEL_SHARE) * s * w / P``, ``sequential_arl =
(P / w) / (SEQUENTIAL_SHARE * (1 - REFERENCE_TAIL_SHARE) * s)``, ``reference_tail =
SEQUENTIAL_SHARE * REFERENCE_TAIL_SHARE * s / tracks`` and ``late_label_alpha =
LATE_LABEL_SHARE * s * w / (P * horizons)``: its expected false alerts per period are s (the
reference's tail counted once per period). Streams that are
insufficient (too few tickets) spend nothing of theirs: the deployment errs on the quiet side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from monitor.stats.sequential import threshold_for_arl
from monitor.stats.windows import ALL, is_candidate_stream, segment_kind

ALL_SHARE = 0.5
SEQUENTIAL_SHARE = 0.5
LATE_LABEL_SHARE = 0.1
REFERENCE_TAIL_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class StreamBudget:
    """One stream's part of the deployment's false-alarm budget."""

    segment: str
    window_size_s: int
    share: float  # expected false alerts per period, of the deployment's 1
    window_alpha: float
    sequential_arl: float
    sequential_threshold: float
    late_label_alpha: float = 0.0
    reference_tail: float = 0.0  # per track: P(the reference errs past the CUSUM's allowance)

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "segment": self.segment,
            "window_size_s": self.window_size_s,
            "share": self.share,
            "window_alpha": self.window_alpha,
            "sequential_arl": self.sequential_arl,
            "sequential_threshold": self.sequential_threshold,
            "late_label_alpha": self.late_label_alpha,
            "reference_tail": self.reference_tail,
        }


def segment_share(segment: str, *, kinds: Iterable[str], volume: float) -> float:
    """The segment's share of the deployment's budget (before the split by window size).

    ``volume`` is the segment's share of the reference's tickets (ignored for ``all``).
    """
    watched = tuple(kinds)
    if segment == ALL or is_candidate_stream(segment):
        return ALL_SHARE if watched else 1.0
    if segment_kind(segment) not in watched:
        return 0.0
    return (1.0 - ALL_SHARE) / len(watched) * min(max(volume, 0.0), 1.0)


def stream_budget(
    *,
    segment: str,
    window_size_s: int,
    window_sizes: Iterable[int],
    kinds: Iterable[str],
    volume: float,
    period: timedelta,
    tracks: int = 1,
    horizons: int = 3,
) -> StreamBudget:
    """The budget of one stream (see the module docstring for the split); the sequential
    threshold is each of ``tracks`` CUSUMs' (their union keeps the stream's ARL), the late-label
    alpha each of ``horizons`` re-judgements' (Bonferroni over a window's horizons)."""
    sizes = set(window_sizes) | {window_size_s}
    share = segment_share(segment, kinds=kinds, volume=volume) / len(sizes)
    windows_per_period = period.total_seconds() / window_size_s
    window_share = 1.0 - SEQUENTIAL_SHARE - LATE_LABEL_SHARE
    alpha = min(1.0, window_share * share / windows_per_period)
    sequential = SEQUENTIAL_SHARE * share
    arl_share = (1.0 - REFERENCE_TAIL_SHARE) * sequential
    arl = windows_per_period / arl_share if share > 0 else math.inf
    threshold = threshold_for_arl(arl * tracks) if math.isfinite(arl) else math.inf
    late = min(1.0, LATE_LABEL_SHARE * share / (windows_per_period * max(horizons, 1)))
    tail = min(1.0, REFERENCE_TAIL_SHARE * sequential / max(tracks, 1))
    return StreamBudget(segment, window_size_s, share, alpha, arl, threshold, late, tail)


def deployment_budget(
    *,
    volumes: Mapping[str, float],
    window_sizes: Iterable[int],
    kinds: Iterable[str],
    period: timedelta,
    tracks: int = 1,
    horizons: int = 3,
) -> list[StreamBudget]:
    """Every stream's budget: ``all`` and each segment of ``volumes`` at each window size."""
    sizes = sorted(set(window_sizes))
    segments = [ALL, *sorted(s for s in volumes if s != ALL)]
    return [
        stream_budget(
            segment=segment,
            window_size_s=size,
            window_sizes=sizes,
            kinds=kinds,
            volume=volumes.get(segment, 1.0),
            period=period,
            tracks=tracks,
            horizons=horizons,
        )
        for segment in segments
        for size in sizes
    ]
