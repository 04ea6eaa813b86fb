"""``ticketwatch replay``: drive a scenario through the real API and the real monitor.

1. Build the scenario's pools and stream (seeded).
2. A scratch database gets the history and a calibrated, promoted knn version; the real API
   starts in its own process with the scenario's review sample rate.
3. Window by window on the simulated clock: post its tickets (``received_at`` on the clock),
   let simulated reviewers work the review queue, post helpdesk outcomes that are due; after
   the reference period, make it the monitor's reference (a rebaseline); after that, let the
   monitor compute each window (segment ``all``), read its verdict back, and run the peers on
   the same arrays the monitor loaded.
4. Score every detector (delay after each onset, false alarms in calm windows).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.config import Settings
from evals.replay import peers
from evals.replay.environment import ReplayEnv, replay_environment
from evals.replay.pools import Pools, load_records, split_pools
from evals.replay.progress import QuietProgress, ReplayProgress
from evals.replay.reviewers import review_window
from evals.replay.scenario import Scenario
from evals.replay.scoring import DetectorScore, score
from evals.replay.stream import REFERENCE, Stream, StreamTicket, WindowSpec, build_stream
from evals.replay.traffic import Routed, post_outcomes, post_tickets
from evals.replay.verdicts import MonitorPort, WindowArrays, WindowRecord
from monitor.stats.windows import ALL, format_duration

COMPOSITE = "composite"
WARMUP_TICKETS = 32

MonitorFactory = Callable[[ReplayEnv], MonitorPort]


@dataclass
class ReplayResult:
    """A finished replay: each judged window, each detector's score, and how long it took."""

    scenario: Scenario
    stream: Stream
    records: list[WindowRecord]
    scores: list[DetectorScore]
    meta: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    stream_scores: list[DetectorScore] = field(default_factory=list)

    def score_of(self, detector: str) -> DetectorScore:
        return next(s for s in self.scores if s.detector == detector)


@dataclass
class _Clock:
    """Running state of a replay (what happened so far)."""

    routed: dict[int, list[Routed]] = field(default_factory=dict)
    reference: WindowArrays | None = None
    records: list[WindowRecord] = field(default_factory=list)
    timings: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))


def prepare(scenario: Scenario, settings: Settings) -> tuple[Pools, Stream]:
    """The scenario's pools and stream (no system needed: pure and seeded)."""
    pools = split_pools(scenario, load_records(scenario, settings))
    return pools, build_stream(scenario, pools)


def run_replay(
    scenario: Scenario,
    *,
    settings: Settings,
    monitor_factory: MonitorFactory,
    work_dir: Path,
    progress: ReplayProgress | None = None,
    with_evidently: bool = True,
    concurrency: int = 8,
    keep_database: bool = False,
) -> ReplayResult:
    """Replay ``scenario`` end to end (see the module docstring)."""
    progress = progress or QuietProgress()
    started = time.perf_counter()
    pools, stream = prepare(scenario, settings)
    progress.history(len(pools.history))
    state = _Clock()
    with replay_environment(
        settings,
        pools.history,
        pools.taxonomy,
        review_rate=scenario.reviewers.share,
        log_path=work_dir / "api.log",
        keep_database=keep_database,
        progress=progress.history_loaded,
    ) as env:
        state.timings["setup_s"] = time.perf_counter() - started
        monitor = monitor_factory(env)
        _warm_up(env, pools, stream, concurrency)
        progress.replay(windows=len(stream.windows), tickets=len(stream.tickets))
        rng = np.random.default_rng(scenario.seed + 1)
        for window in stream.windows:
            _play_window(
                scenario,
                stream,
                window,
                env,
                monitor,
                state,
                rng,
                progress,
                with_evidently=with_evidently,
                concurrency=concurrency,
            )
        alpha = monitor.alpha
    scores = score_all(stream, state.records)
    per_stream = stream_scores(stream, state.records)
    state.timings["total_s"] = time.perf_counter() - started
    meta = {
        "history": len(pools.history),
        "stream_pool": len(pools.stream),
        "reference_tickets": sum(w.n_tickets for w in stream.reference_windows),
        "tickets": len(stream.tickets),
        "alpha": alpha,
        "evidently": peers.evidently_version() if with_evidently else None,
        "review_sample_rate": scenario.reviewers.share,
        "late_labels": late_label_counts(state.records),
    }
    timings = {k: round(v, 2) for k, v in state.timings.items()}
    return ReplayResult(scenario, stream, state.records, scores, meta, timings, per_stream)


def late_label_counts(records: list[WindowRecord]) -> dict[str, int]:
    """Past windows re-judged on their late labels over the replay (stream and horizon), how
    many had enough labels, and the alerts those re-judgements opened."""
    late = [s for r in records if r.composite for s in r.composite.streams if s.horizon]
    return {
        "rejudged": len(late),
        "with_enough_labels": sum(not s.insufficient for s in late),
        "alerts_opened": sum(s.opened for s in late),
    }


def _warm_up(env: ReplayEnv, pools: Pools, stream: Stream, concurrency: int) -> None:
    """Route a few history texts before the clock starts (in a window nobody judges), so the
    reference's latencies are not those of a cold process."""
    first = stream.windows[0]
    at = first.start - 2 * (first.end - first.start)
    tickets = [
        StreamTicket(f"replay:warmup:{i}", r.text, r.queue, r.priority, r.intent, at, -2, "warmup")
        for i, r in enumerate(pools.history[:WARMUP_TICKETS])
    ]
    post_tickets(env.api_url, env.api_key, tickets, concurrency=concurrency)


def _play_window(
    scenario: Scenario,
    stream: Stream,
    window: WindowSpec,
    env: ReplayEnv,
    monitor: MonitorPort,
    state: _Clock,
    rng: np.random.Generator,
    progress: ReplayProgress,
    *,
    with_evidently: bool,
    concurrency: int,
) -> None:
    t0 = time.perf_counter()
    tickets = stream.in_window(window.index)
    routed = post_tickets(
        env.api_url, env.api_key, tickets, concurrency=concurrency, advance=progress.posted
    )
    state.routed[window.index] = routed
    t1 = time.perf_counter()
    reviews = review_window(
        env.database_url,
        env.settings,
        routed,
        reviewer=env.reviewer,
        coverage=scenario.reviewers.coverage,
        rng=rng,
    )
    _due_outcomes(scenario, window, env, state, rng)
    t2 = time.perf_counter()
    state.timings["post_s"] += t1 - t0
    state.timings["review_s"] += t2 - t1
    if window.phase == REFERENCE:
        if window.index == stream.reference_windows[-1].index:
            monitor.rebaseline(start=stream.windows[0].start, end=window.end)
            state.reference = monitor.reference_arrays()
        progress.window_done("")
        return
    record = _judge(window, monitor, state, routed, with_evidently)
    record.reviews = dict(reviews)
    state.records.append(record)
    progress.window_done(window_line(record))


def _due_outcomes(
    scenario: Scenario, window: WindowSpec, env: ReplayEnv, state: _Clock, rng: np.random.Generator
) -> None:
    spec = scenario.outcomes
    due = state.routed.get(window.index - spec.delay_windows, [])
    if spec.share <= 0 or not due:
        return
    chosen = [r for r in due if rng.random() < spec.share]
    post_outcomes(env.api_url, env.api_key, chosen)


def _judge(
    window: WindowSpec,
    monitor: MonitorPort,
    state: _Clock,
    routed: list[Routed],
    with_evidently: bool,
) -> WindowRecord:
    t0 = time.perf_counter()
    verdict = monitor.compute(window)
    t1 = time.perf_counter()
    verdicts: list[peers.PeerVerdict] = []
    reference = state.reference
    if reference is not None and not verdict.insufficient:
        current = monitor.window_arrays(window)
        verdicts = peers.judge_window(
            reference_embeddings=reference.embeddings,
            current_embeddings=current.embeddings,
            reference_probs=reference.probs,
            current_probs=current.probs,
            alpha=monitor.alpha,
            with_evidently=with_evidently,
        )
    state.timings["monitor_s"] += t1 - t0
    state.timings["peers_s"] += time.perf_counter() - t1
    altered = Counter(r.ticket.altered for r in routed if r.ticket.altered)
    modes = Counter(r.mode for r in routed)
    return WindowRecord(window, verdict, verdicts, altered=dict(altered), routed_modes=dict(modes))


def window_line(record: WindowRecord) -> str:
    """One short console line per judged window."""
    c = record.composite
    head = f"  w{record.window.index:>3} {record.window.phase[:12]:<12}"
    if c is None or c.insufficient:
        return f"{head} insufficient: {c.reason if c else 'no verdict'}"
    names = {peers.KS_PROBS: "KS", peers.EVIDENTLY_DEFAULT: "Evidently"}
    flags = " ".join(
        f"{names.get(p.detector, p.detector)}:{'DRIFT' if p.drifted else 'ok'}"
        for p in record.peers
    )
    score_text = "n/a" if c.score is None else f"{c.score:6.1f}"
    alert = "ALERT" if c.alert_open else "-"
    return f"{head} {score_text} {c.severity:<8} {alert:<5} {flags}"


StreamKey = tuple[str, int]


def _stream_maps(
    records: list[WindowRecord],
) -> dict[StreamKey, tuple[dict[int, bool], dict[int, int]]]:
    """Per stream (segment, window size): whether its alert is open after each replay window
    (carried over windows it was not computed in) and how many alerts it opened in each."""
    keys = {
        (s.segment, s.window_size_s) for r in records if r.composite for s in r.composite.streams
    }
    out = {}
    for key in keys:
        alarms: dict[int, bool] = {}
        opened: dict[int, int] = {}
        is_open = False
        for r in records:
            mine = [
                s
                for s in (r.composite.streams if r.composite else [])
                if (s.segment, s.window_size_s) == key
            ]
            is_open = mine[-1].alert_open if mine else is_open
            alarms[r.window.index] = is_open
            opened[r.window.index] = sum(s.opened for s in mine)
        out[key] = (alarms, opened)
    return out


def score_all(stream: Stream, records: list[WindowRecord]) -> list[DetectorScore]:
    """The composite's (every stream of the deployment) and each peer's score."""
    alarms = {r.window.index: bool(r.composite and r.composite.alert_open) for r in records}
    opened = {r.window.index: int(bool(r.composite and r.composite.opened)) for r in records}
    maps = _stream_maps(records)
    if maps:  # every stream, `all` at the replay's size included
        alarms = {i: any(a[i] for a, _ in maps.values()) for i in alarms}
        opened = {i: sum(o[i] for _, o in maps.values()) for i in opened}
    scores = [score(COMPOSITE, stream.windows, alarms, opened=opened)]
    for name in (peers.EVIDENTLY_DEFAULT, peers.KS_PROBS):
        flags = {}
        for r in records:
            verdict = r.peer(name)
            if verdict is not None:
                flags[r.window.index] = verdict.drifted
        if flags:
            scores.append(score(name, stream.windows, flags))
    return scores


def stream_scores(stream: Stream, records: list[WindowRecord]) -> list[DetectorScore]:
    """Each stream's own score (named ``segment @ size``), for streams judged at least once
    with enough tickets, `all` first."""
    judged = {
        (s.segment, s.window_size_s)
        for r in records
        if r.composite
        for s in r.composite.streams
        if not s.insufficient
    }
    maps = _stream_maps(records)
    out = []
    for segment, size in sorted(judged, key=lambda k: (k[0] != ALL, k[0], k[1])):
        alarms, opened = maps[(segment, size)]
        name = f"{segment} @ {format_duration(size)}"
        out.append(score(name, stream.windows, alarms, opened=opened))
    return out
