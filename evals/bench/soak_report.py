"""The soak benchmark's figures as one JSON-ready dict, and its targets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evals.bench.soak_load import Recorder, period_stats
from evals.bench.soak_probes import Memory, grown, relative_growth

if TYPE_CHECKING:
    from evals.bench.soak import Soak

RSS_TARGET = 0.10
MB = 1024 * 1024


def _memory(sample: dict[str, Memory | None]) -> dict[str, Any]:
    return {k: m.as_dict() if m is not None else None for k, m in sample.items()}


def throughput_figures(
    probed: Recorder, probe_per_s: float, rate: float, soak: Soak
) -> dict[str, Any]:
    stats = period_stats(probed.requests, 0.0, float("inf"))
    done = sum(r.ok for r in soak.recorder.requests)
    return {
        "probe_tickets_per_s": round(probe_per_s, 2),
        "probe_tickets": stats["requests"],
        "probe_p50_ms": stats["p50_ms"],
        "probe_p99_ms": stats["p99_ms"],
        "soak_rate_per_s": round(rate, 2),
        "soak_achieved_per_s": round(done / soak.options.seconds, 2),
    }


def db_growth(
    start: int,
    end: int,
    tickets: int,
    tables: tuple[dict[str, int], dict[str, int]] = ({}, {}),
) -> dict[str, Any]:
    """The database's growth over the soak, per 10k tickets (MB), and the tables that grew
    most, per 10k tickets too."""
    if not tickets:
        return {
            "start_mb": round(start / MB, 1),
            "end_mb": round(end / MB, 1),
            "tickets": 0,
            "per_10k_mb": None,
            "per_10k_mb_by_table": {},
        }
    scale = 10_000 / tickets / MB
    by_table = {name: (size - tables[0].get(name, 0)) * scale for name, size in tables[1].items()}
    largest = sorted(by_table.items(), key=lambda kv: -kv[1])[:8]
    return {
        "start_mb": round(start / MB, 1),
        "end_mb": round(end / MB, 1),
        "tickets": tickets,
        "per_10k_mb": round((end - start) * scale, 2),
        "per_10k_mb_by_table": {name: round(mb, 2) for name, mb in largest if mb > 0},
    }


def targets(figures: dict[str, Any]) -> dict[str, bool]:
    """The issue's done-when: no error, nothing lost or doubled, no process whose memory
    grew 10% (and 5 MB) after the warm-up."""
    return {
        "no_errors": figures["errors"] == 0,
        "none_lost": figures["lost"] == 0 and figures["duplicates"] == 0,
        "no_crash": not figures["crashed"],
        "rss_growth_under_10pct": not figures["grown"],
    }


def report(
    *,
    soak: Soak,
    probed: Recorder,
    throughput: float,
    rate: float,
    db: tuple[int, int],
    tables: tuple[dict[str, int], dict[str, int]],
    end_memory: dict[str, Memory | None],
    outcome: dict[str, Any],
) -> dict[str, Any]:
    """Everything the soak measured (see :mod:`evals.bench.soak`)."""
    requests = soak.recorder.requests
    overall = period_stats(requests, 0.0, float("inf"))
    growth = db_growth(db[0], db[1], sum(r.ok for r in requests), tables)
    figures: dict[str, Any] = {
        "seconds": soak.options.seconds,
        "warmup_s": soak.options.warmup,
        "requests": len(requests) + len(probed.requests),
        "errors": sum(not r.ok for r in requests) + sum(not r.ok for r in probed.requests),
        **outcome,
        "late": overall["late"],
        "retries": overall["retries"] + period_stats(probed.requests, 0.0, float("inf"))["retries"],
        "p50_ms": overall["p50_ms"],
        "p99_ms": overall["p99_ms"],
        "throughput": throughput_figures(probed, throughput, rate, soak),
        "per_minute": soak.per_minute(),
        "rss_mb": {"after_warmup": _memory(soak.after_warmup), "end": _memory(end_memory)},
        "rss_growth": relative_growth(soak.after_warmup, end_memory),
        "grown": grown(soak.after_warmup, end_memory, share=RSS_TARGET),
        "rss_sum_growth": relative_growth(soak.after_warmup, end_memory, "rss_mb"),
        "pss_growth": relative_growth(soak.after_warmup, end_memory, "pss_mb"),
        "db_growth_per_10k": growth["per_10k_mb"],
        "db": growth,
        "error_samples": soak.recorder.error_samples + probed.error_samples,
    }
    figures["targets"] = targets(figures)
    return figures
