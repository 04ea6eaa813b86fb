"""``ticketwatch bench soak``: the whole system under steady load for minutes.

The API (``ticketwatch serve``), a monitor worker and beat run as real processes on a scratch
database of the configured Postgres (embedded unless ``DATABASE_URL``) and on an empty
database of the configured Redis. Banking77 history and a calibrated knn version are loaded;
a short closed-loop probe measures routing throughput, and its tickets become the monitor's
reference (``monitor rebaseline``). Then tickets go out at half that throughput (open loop)
for the soak's duration, while beat schedules a window every minute and the worker computes
it. Reported: requests, errors and latency per minute; the memory of every process tree
(API, worker, beat, Postgres, Redis) after the warm-up and at the end; the database's growth
per 10k tickets; and, once the broker's queue has drained, the accepted tickets without
exactly one final decision (``lost``) or with more than one (``duplicates``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.config import Settings, get_settings
from agent.embedded import resolve_database_url, resolve_redis_url
from agent.services.health import MONITOR_QUEUE
from evals import repository
from evals.bench import soak_probes as probes
from evals.bench.harness import (
    child_env,
    free_port,
    prepare_agent,
    sample_texts,
    scratch_database,
)
from evals.bench.processes import ticketwatch_process
from evals.bench.soak_load import Recorder, drive_at_rate, drive_closed_loop, period_stats
from evals.bench.soak_report import report

CHANNELS = ("web", "email", "app")
Say = Callable[[str], None]


@dataclass(frozen=True)
class SoakOptions:
    seconds: float
    warmup_s: float = 60.0
    history: int = 2000
    probe_tickets: int = 600
    probe_concurrency: int = 8
    rate: float | None = None  # tickets/s; None: half the probe's throughput
    window: str = "60s"
    # The whole stream only: one window a minute is 60 computed an hour, of the order of the
    # default deployment's (15m, 1h and 24h windows over about twenty segments: ~100 an hour).
    segments: str = ""
    drain_timeout_s: float = 300.0
    logs: Path | None = None

    @property
    def warmup(self) -> float:
        """The warm-up: as asked, but at most half the run (a short run has one too)."""
        return min(self.warmup_s, self.seconds / 2)


@dataclass
class System:
    """The running processes and where they write, for one soak."""

    url: str
    redis_url: str
    api: str
    headers: dict[str, str]
    env: dict[str, str]
    pids: dict[str, int | None]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)


def _own_redis(url: str) -> str:
    """The configured Redis if it names a database other than 0, else an empty one."""
    return url if urlsplit(url).path.strip("/") not in ("", "0") else probes.free_redis_db(url)


def _env(url: str, redis_url: str, settings: Settings, options: SoakOptions) -> dict[str, str]:
    return {
        **os.environ,
        **child_env(
            url,
            redis_url,
            settings,
            TICKETWATCH_MONITOR_WINDOW_SIZES=options.window,
            TICKETWATCH_MONITOR_SEGMENTS=options.segments,
            TICKETWATCH_MONITOR_WINDOW_GRACE_S="5",
            TICKETWATCH_MONITOR_REFERENCE_MIN_TICKETS=str(min(500, options.probe_tickets)),
            TICKETWATCH_MONITOR_CALIBRATION_REPLICATES="100",
        ),
    }


@contextmanager
def running_system(
    url: str, redis_url: str, api_key: str, settings: Settings, options: SoakOptions, logs: Path
) -> Iterator[System]:
    """API, worker and beat started as an operator starts them; stopped at the end."""
    env = _env(url, redis_url, settings, options)
    api_port, metrics_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    with ExitStack() as stack:
        procs = {
            "api": stack.enter_context(
                ticketwatch_process(
                    ["serve", "--port", str(api_port)],
                    env=env,
                    log=logs / "api.log",
                    ready_url=f"{api}/ready",
                )
            ),
            "worker": stack.enter_context(
                ticketwatch_process(
                    ["worker", "--concurrency", "2", "--metrics-port", str(metrics_port)],
                    env=env,
                    log=logs / "worker.log",
                    ready_url=f"http://127.0.0.1:{metrics_port}",
                )
            ),
            "beat": stack.enter_context(
                ticketwatch_process(
                    ["beat", "--schedule-file", str(logs / "beat-schedule")],
                    env=env,
                    log=logs / "beat.log",
                )
            ),
        }
        pids: dict[str, int | None] = {name: p.pid for name, p in procs.items()}
        pids["postgres"] = probes.postgres_pid(url)
        pids["redis"] = probes.redis_pid(redis_url)
        headers = {"Authorization": f"Bearer {api_key}"}
        yield System(url, redis_url, api, headers, env, pids, procs)


class TicketBodies:
    """Ticket ``i`` of a run: Banking77 test texts in turn, channels in turn, unique ids."""

    def __init__(self, n_texts: int) -> None:
        self.texts = sample_texts(n_texts)
        self.run = uuid.uuid4().hex[:8]

    def __call__(self, i: int) -> dict[str, Any]:
        return {
            "source": "bench-soak",
            "external_id": f"{self.run}-{i}",
            "body": self.texts[i % len(self.texts)],
            "channel": CHANNELS[i % len(CHANNELS)],
            "customer_id": f"c{i % 500}",
        }


def probe(
    system: System, options: SoakOptions, bodies: TicketBodies, say: Say
) -> tuple[Recorder, float]:
    """Closed-loop throughput (tickets/s), then its tickets become the monitor's reference."""
    start = datetime.now(UTC)
    recorder, seconds = drive_closed_loop(
        f"{system.api}/v1/tickets",
        [bodies(-1 - i) for i in range(options.probe_tickets)],
        concurrency=options.probe_concurrency,
        headers=system.headers,
    )
    ok = sum(r.ok for r in recorder.requests)
    if ok < min(500, options.probe_tickets):
        raise RuntimeError(
            f"the throughput probe had {len(recorder.requests) - ok} errors of "
            f"{len(recorder.requests)}: {recorder.error_samples}"
        )
    say(f"routing throughput: {ok / seconds:.1f} tickets/s ({ok} tickets, {seconds:.1f}s)")
    rebaseline = subprocess.run(
        [sys.executable, "-m", "agent", "monitor", "rebaseline"]
        + ["--from", start.isoformat(), "--to", datetime.now(UTC).isoformat()]
        + ["--note", "bench soak: the probe's tickets"],
        env=system.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if rebaseline.returncode != 0:
        raise RuntimeError(f"monitor rebaseline failed: {rebaseline.stderr[-2000:]}")
    return recorder, ok / seconds


def _memory_line(sample: dict[str, probes.Memory | None]) -> str:
    known = [f"{k} {m.resident_mb:.0f}" for k, m in sample.items() if m is not None]
    return ", ".join(known) + " MB"


class Soak:
    """The soak phase: requests as they complete, memory sampled after the warm-up and at
    the end of every minute, a progress line per minute."""

    def __init__(self, system: System, options: SoakOptions, say: Say) -> None:
        self.system, self.options, self.say = system, options, say
        self.recorder = Recorder()
        self.after_warmup: dict[str, probes.Memory | None] = {}
        self.minute_memory: list[dict[str, probes.Memory | None]] = []
        self.minute_load: list[float] = []
        count = max(1, -(-int(options.seconds) // 60))
        self.minute_ends = [min(60.0 * (m + 1), options.seconds) for m in range(count)]

    def marks(self) -> list[float]:
        return sorted({self.options.warmup, *self.minute_ends})

    async def on_mark(self, at: float) -> None:
        sample = await asyncio.to_thread(probes.sample_memory, self.system.pids)
        if at == self.options.warmup:
            self.after_warmup = sample
        if at in self.minute_ends:
            self.minute_memory.append(sample)
            self.minute_load.append(round(os.getloadavg()[0], 2))
            stats = period_stats(self.recorder.requests, max(0.0, at - 60), at)
            self.say(
                f"minute {len(self.minute_memory)}/{len(self.minute_ends)}: "
                f"{stats['requests']} requests, {stats['errors']} errors, "
                f"p50 {stats['p50_ms']} ms, p99 {stats['p99_ms']} ms; {_memory_line(sample)}; "
                f"load average {self.minute_load[-1]}"
            )

    def drive(self, bodies: TicketBodies, rate: float) -> None:
        drive_at_rate(
            f"{self.system.api}/v1/tickets",
            bodies,
            rate=rate,
            seconds=self.options.seconds,
            headers=self.system.headers,
            marks=self.marks(),
            on_mark=self.on_mark,
            recorder=self.recorder,
        )

    def per_minute(self) -> list[dict[str, Any]]:
        """Each minute's figures, counted once every request has completed."""
        out = []
        for i, end in enumerate(self.minute_ends):
            stats = period_stats(self.recorder.requests, 60.0 * i, end)
            memory = self.minute_memory[i] if i < len(self.minute_memory) else {}
            rss = {k: round(m.resident_mb, 1) for k, m in memory.items() if m is not None}
            load = self.minute_load[i] if i < len(self.minute_load) else None
            out.append({"minute": i + 1, **stats, "rss_mb": rss, "load_avg_1m": load})
        return out


def run(
    options: SoakOptions, *, settings: Settings | None = None, say: Say = lambda _: None
) -> dict[str, Any]:
    """Run the soak (see the module docstring) and return its figures."""
    settings = settings or get_settings()
    server = resolve_database_url(settings)
    configured_redis = resolve_redis_url(settings)
    redis_url = _own_redis(configured_redis)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    logs = options.logs or settings.data_dir / "bench" / f"soak-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    say(f"process logs in {logs}")
    load_before = os.getloadavg()[0]
    try:
        with scratch_database(server, prefix="tw_bench_soak") as url:
            say(f"loading {options.history} history tickets and calibrating a knn version…")
            key = prepare_agent(
                url, settings, history=options.history, rate_limit_per_minute=10**8
            ).api_key
            with running_system(url, redis_url, key, settings, options, logs) as system:
                figures = _measure(system, options, say)
    finally:
        if redis_url != configured_redis:
            probes.flush_redis_db(redis_url)
    figures["config"] = {
        "history": options.history,
        "probe_tickets": options.probe_tickets,
        "probe_concurrency": options.probe_concurrency,
        "monitor_window": options.window,
        "monitor_segments": options.segments or "all",
        "worker_concurrency": 2,
        "cpu_count": os.cpu_count(),
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "memory_reader": "psutil" if probes.psutil is not None else "/proc",
    }
    figures["logs"] = str(logs)
    return figures


def _measure(system: System, options: SoakOptions, say: Say) -> dict[str, Any]:
    bodies = TicketBodies(3000)
    probed, throughput = probe(system, options, bodies, say)
    rate = options.rate or throughput / 2
    say(f"soak: {rate:.1f} tickets/s for {options.seconds:g}s, warm-up {options.warmup:g}s")
    soak = Soak(system, options, say)
    db_start, since = repository.database_bytes(system.url), datetime.now(UTC)
    tables_start = repository.table_bytes(system.url)
    soak.drive(bodies, rate)
    end_memory = probes.sample_memory(system.pids)
    db_end, tables_end = repository.database_bytes(system.url), repository.table_bytes(system.url)
    say("soak done; waiting for the monitor's queue to drain…")
    drained = probes.wait_for_drained_queue(
        system.redis_url, MONITOR_QUEUE, timeout_s=options.drain_timeout_s
    )
    crashed = [name for name, proc in system.procs.items() if proc.poll() is not None]
    requests = probed.requests + soak.recorder.requests
    accepted = [r.ticket_id for r in requests if r.ok and r.ticket_id]
    lost, duplicates = repository.tickets_without_one_final_decision(system.url, accepted)
    figures = report(
        soak=soak,
        probed=probed,
        throughput=throughput,
        rate=rate,
        db=(db_start, db_end),
        tables=(tables_start, tables_end),
        end_memory=end_memory,
        outcome={
            "lost": lost,
            "duplicates": duplicates,
            "queue_drained": drained,
            "crashed": crashed,
            "monitor": repository.monitor_activity(system.url, since),
        },
    )
    figures["pids"] = system.pids
    return figures
