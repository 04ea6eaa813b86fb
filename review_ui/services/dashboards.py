"""The dashboards: every signal per segment with its band and alerts; volume by route and mode;
disagreement and accuracy with intervals; cost and latency. Charts are server-side SVG."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import Alert, SignalValue
from review_ui import charts
from review_ui.repositories import console as console_reads
from review_ui.repositories import dashboards as reads
from review_ui.services.estimates import daily_estimates

RANGES = {
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(hours=6)),
    "30d": (timedelta(days=30), timedelta(days=1)),
}


@dataclass
class SignalPanel:
    signal: str
    chart: Markup
    latest: SignalValue | None
    drifted_windows: int


@dataclass(frozen=True)
class StreamBudgetRow:
    """One alert stream's share of the deployment's false-alarm budget, and where its
    sequential evidence stands (from its latest ``evidence_sequential`` row)."""

    segment: str
    window_size_s: int
    share: float
    window_alpha: float
    sequential_arl: float
    late_label_alpha: float
    allowance: float  # what each CUSUM step gives up for the reference's sampling error
    threshold: float | None
    statistic: float | None
    holds_alert: bool
    window_end: datetime


@dataclass
class Dashboard:
    range_key: str
    segment: str | None
    window_size_s: int | None
    segments: list[tuple[str, int]]
    signals: list[SignalPanel]
    alerts: list[Alert]
    volume_by_mode: Markup
    mode_legend: list[tuple[str, str, int]]
    route_totals: list[tuple[str, int]]
    estimates_chart: Markup
    accuracy_chart: Markup
    cost_chart: Markup
    latency_chart: Markup
    totals: dict[str, Any] = field(default_factory=dict)
    budget: list[StreamBudgetRow] = field(default_factory=list)

    @property
    def budget_spent(self) -> float:
        """Expected false alerts per period of the streams judged so far (of the budget's 1)."""
        return sum(b.share for b in self.budget)


def _direction(rows: list[SignalValue]) -> str:
    """Which side of the threshold is bad: as the monitor says, else as drifted rows show."""
    for row in rows:
        stated = (row.details or {}).get("direction")
        if stated in ("increase", "decrease", "two_sided"):
            return str(stated)
    for row in rows:
        if row.drifted and row.value is not None and row.threshold is not None:
            return "decrease" if row.value < row.threshold else "increase"
    return "increase"


def signal_panel(
    signal: str, rows: list[SignalValue], alerts: list[Alert], since: datetime, until: datetime
) -> SignalPanel:
    latest = rows[-1] if rows else None
    lower = (latest.details or {}).get("lower_threshold") if latest else None
    points = [
        charts.Point(r.window_end, None if r.insufficient else r.value, bool(r.drifted))
        for r in rows
    ]
    markers = [
        charts.Marker(a.opened_at, f"{a.severity} alert: {a.rule} ({a.status})", a.severity)
        for a in alerts
    ]
    chart = charts.line_chart(
        points,
        label=f"{signal} over time",
        threshold=latest.threshold if latest else None,
        lower=float(lower) if isinstance(lower, int | float) else None,
        direction=_direction(rows),
        markers=markers,
        since=since,
        until=until,
    )
    return SignalPanel(signal, chart, latest, sum(bool(r.drifted) for r in rows))


async def dashboard(
    session: AsyncSession, *, range_key: str, segment: str | None, window_size_s: int | None
) -> Dashboard:
    span, bucket = RANGES.get(range_key, RANGES["24h"])
    until = datetime.now(UTC)
    since = until - span
    segments = [(r[0], int(r[1])) for r in await reads.signal_segments(session)]
    if (segment, window_size_s) not in segments:  # none asked, or one never computed
        fallback = segments[0] if segments else (None, None)
        segment, window_size_s = next(((s, w) for s, w in segments if s == segment), fallback)
    alerts = await console_reads.alerts_between(session, since=since, until=until)
    panels = await _signal_panels(session, segment, window_size_s, alerts, since, until)
    dash = Dashboard(
        range_key=range_key if range_key in RANGES else "24h",
        segment=segment,
        window_size_s=window_size_s,
        segments=segments,
        signals=panels,
        alerts=alerts,
        **await _volume(session, since, until, bucket),
        **await _estimates(session, until, span),
        **await _ops(session, since, until, bucket),
    )
    dash.budget = budget_rows(await reads.latest_sequential(session))
    return dash


def budget_rows(rows: list[SignalValue]) -> list[StreamBudgetRow]:
    """The budget table, `all` first, then by share."""
    out = []
    for r in rows:
        d = r.details or {}
        out.append(
            StreamBudgetRow(
                r.segment,
                r.window_size_s,
                float(d.get("budget_share", 0.0)),
                float(d.get("window_alpha", 0.0)),
                float(d.get("sequential_arl", 0.0)),
                float(d.get("late_label_alpha", 0.0)),
                float(d.get("allowance", 0.0)),
                r.threshold,
                r.value,
                bool(r.drifted),
                r.window_end,
            )
        )
    return sorted(out, key=lambda b: (b.segment != "all", -b.share, b.segment, b.window_size_s))


async def _signal_panels(
    session: AsyncSession,
    segment: str | None,
    window_size_s: int | None,
    alerts: list[Alert],
    since: datetime,
    until: datetime,
) -> list[SignalPanel]:
    if segment is None or window_size_s is None:
        return []
    rows = await reads.signal_series(
        session, segment=segment, window_size_s=window_size_s, since=since
    )
    by_signal: dict[str, list[SignalValue]] = defaultdict(list)
    for row in rows:
        by_signal[row.signal].append(row)
    mine = [a for a in alerts if a.segment == segment]
    return [signal_panel(name, by_signal[name], mine, since, until) for name in sorted(by_signal)]


async def _volume(
    session: AsyncSession, since: datetime, until: datetime, bucket: timedelta
) -> dict[str, Any]:
    by_mode = await reads.volume(session, since=since, bucket=bucket, by="mode")
    buckets = sorted({r[0] for r in by_mode})
    modes = sorted({r[1] for r in by_mode}, key=lambda m: (m != "agent", m))
    index = {b: i for i, b in enumerate(buckets)}
    stacks: dict[str, list[float]] = {m: [0.0] * len(buckets) for m in modes}
    for b, mode, n in by_mode:
        stacks[mode][index[b]] = float(n)
    routes: dict[str, int] = defaultdict(int)
    for _, route, n in await reads.volume(session, since=since, bucket=bucket, by="routed_to"):
        routes[route] += int(n)
    return {
        "volume_by_mode": charts.stacked_bars(
            buckets,
            stacks,
            label="decisions by mode",
            bucket_s=bucket.total_seconds(),
            since=since,
            until=until,
        ),
        "mode_legend": [
            (m, charts.PALETTE[i % len(charts.PALETTE)], int(sum(stacks[m])))
            for i, m in enumerate(modes)
        ],
        "route_totals": sorted(routes.items(), key=lambda kv: -kv[1]),
    }


async def _estimates(session: AsyncSession, until: datetime, span: timedelta) -> dict[str, Any]:
    days = max(1, min(30, span.days or 1))
    daily = await daily_estimates(session, until=until, days=max(days, 7))
    start = daily[0].since
    dis = [
        charts.Point(e.since, e.disagreement.rate, low=e.disagreement.low, high=e.disagreement.high)
        for e in daily
    ]
    acc = [
        charts.Point(
            e.since, e.queue_accuracy.rate, low=e.queue_accuracy.low, high=e.queue_accuracy.high
        )
        for e in daily
    ]
    return {
        "estimates_chart": charts.line_chart(
            dis, label="disagreement with reviewers per day", since=start, until=until
        ),
        "accuracy_chart": charts.line_chart(
            acc, label="estimated queue accuracy per day", since=start, until=until
        ),
    }


async def _ops(
    session: AsyncSession, since: datetime, until: datetime, bucket: timedelta
) -> dict[str, Any]:
    rows = await reads.cost_latency(session, since=since, bucket=bucket)
    cost = [charts.Point(r[0], float(r[2])) for r in rows]
    p50 = [charts.Point(r[0], float(r[3] or 0)) for r in rows]
    p95 = [
        charts.Point(r[0], float(r[4] or 0), low=float(r[3] or 0), high=float(r[5] or 0))
        for r in rows
    ]
    return {
        "cost_chart": charts.line_chart(
            cost, label="cost in USD per bucket", since=since, until=until
        ),
        "latency_chart": charts.line_chart(
            p95, label="latency p95 (bars: p50 to p99), ms", since=since, until=until
        ),
        "totals": {
            "decisions": sum(int(r[1]) for r in rows),
            "cost": sum(float(r[2]) for r in rows),
            "p50_latest": p50[-1].value if p50 else None,
        },
    }
