"""Server-side SVG charts: time series with a threshold band and alert markers, stacked bars,
estimates with confidence intervals. Pure functions returning markup; every text is escaped,
and styling is by class (the CSP forbids inline styles)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

from markupsafe import Markup

W, H = 640, 190
PAD_L, PAD_R, PAD_T, PAD_B = 48, 12, 14, 26
PALETTE = ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8")


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float | None
    flagged: bool = False  # drawn as a drift point
    low: float | None = None  # confidence interval, if any
    high: float | None = None


@dataclass(frozen=True)
class Marker:
    at: datetime
    label: str
    severity: str = "warning"


@dataclass
class Frame:
    """Maps data to the plot area."""

    t0: float
    t1: float
    y0: float
    y1: float
    width: int = W
    height: int = H

    def x(self, at: datetime) -> float:
        span = (self.t1 - self.t0) or 1.0
        return PAD_L + (at.timestamp() - self.t0) / span * (self.width - PAD_L - PAD_R)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.height - PAD_B - (value - self.y0) / span * (self.height - PAD_T - PAD_B)


@dataclass
class Svg:
    parts: list[str] = field(default_factory=list)

    def add(self, tag: str, text: str = "", *, tooltip: str = "", **attrs: object) -> None:
        rendered = " ".join(
            f'{k.rstrip("_").replace("_", "-")}="{escape(_fmt(v))}"' for k, v in attrs.items()
        )
        body = escape(text) + (f"<title>{escape(tooltip)}</title>" if tooltip else "")
        self.parts.append(f"<{tag} {rendered}>{body}</{tag}>" if body else f"<{tag} {rendered}/>")

    def markup(self, label: str, width: int = W, height: int = H) -> Markup:
        head = (
            f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(label)}</title>"
        )
        return Markup(head + "".join(self.parts) + "</svg>")


def _fmt(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def nice_number(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value / 1000:.1f}k"
    if magnitude >= 10:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.1f}"
    if magnitude >= 0.01:
        return f"{value:.2f}"
    return f"{value:.1e}"


Y_TICKS = 4


def _y_range(values: Sequence[float], floor_zero: bool) -> tuple[float, float]:
    """A range with round ends, so that its ``Y_TICKS`` ticks fall on round numbers."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if floor_zero and low >= 0:
        low = 0.0
    if high == low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / Y_TICKS
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    y0 = math.floor(low / step) * step
    while y0 + step * Y_TICKS < high:
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10, 20) if m * magnitude > step)
        y0 = math.floor(low / step) * step
    return y0, y0 + step * Y_TICKS


def tick_label(value: float, step: float) -> str:
    """A tick's label with as many decimals as the step between ticks needs."""
    if abs(value) >= 1000:
        return nice_number(value)
    decimals = max(0, min(6, 1 - math.floor(math.log10(step)))) if step > 0 else 2
    return f"{value:.{decimals}f}"


def _axes(svg: Svg, frame: Frame, times: Sequence[datetime], y_ticks: int = Y_TICKS) -> None:
    step = (frame.y1 - frame.y0) / y_ticks
    for i in range(y_ticks + 1):
        value = frame.y0 + step * i
        y = frame.y(value)
        svg.add("line", class_="grid", x1=PAD_L, x2=frame.width - PAD_R, y1=y, y2=y)
        label = tick_label(value, step)
        svg.add("text", label, class_="tick", x=PAD_L - 6, y=y + 3, text_anchor="end")
    if not times:
        return
    span_h = (frame.t1 - frame.t0) / 3600
    fmt = "%H:%M" if span_h <= 36 else "%b %d"
    count = min(6, len(times))
    for i in range(count):
        at = times[round(i * (len(times) - 1) / max(1, count - 1))]
        x = frame.x(at)
        anchor = "start" if x < PAD_L + 20 else "end" if x > frame.width - PAD_R - 20 else "middle"
        svg.add(
            "text", at.strftime(fmt), class_="tick", x=x, y=frame.height - 8, text_anchor=anchor
        )


def line_chart(
    points: Sequence[Point],
    *,
    label: str,
    threshold: float | None = None,
    lower: float | None = None,
    direction: str = "increase",
    markers: Sequence[Marker] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> Markup:
    """A series with its acceptable band (between the thresholds), drift points in red and a
    vertical marker per alert."""
    svg = Svg()
    values = [p.value for p in points if p.value is not None]
    bounds = [b for b in (threshold, lower) if b is not None]
    ci = [v for p in points for v in (p.low, p.high) if v is not None]
    y0, y1 = _y_range([*values, *bounds, *ci], floor_zero=True)
    times = [p.at for p in points]
    t0 = (since or min(times, default=datetime.now(UTC))).timestamp()
    t1 = (until or max(times, default=datetime.now(UTC))).timestamp()
    frame = Frame(t0, t1, y0, y1)
    _band(svg, frame, threshold=threshold, lower=lower, direction=direction)
    _axes(svg, frame, _spread(since, until) if since and until else times)
    _intervals(svg, frame, points)
    _polyline(svg, frame, points)
    for m in markers:
        if t0 <= m.at.timestamp() <= t1:
            x = frame.x(m.at)
            svg.add(
                "line",
                class_=f"marker {m.severity}",
                x1=x,
                x2=x,
                y1=PAD_T,
                y2=H - PAD_B,
                tooltip=m.label,
            )
            head = f"M{x - 5:.1f},{PAD_T - 4} L{x + 5:.1f},{PAD_T - 4} L{x:.1f},{PAD_T + 4} Z"
            svg.add("path", class_=f"marker-head {m.severity}", d=head, tooltip=m.label)
    if not values:
        svg.add(
            "text",
            "no values in this period",
            class_="empty",
            x=W / 2,
            y=H / 2,
            text_anchor="middle",
        )
    return svg.markup(label)


def _band(
    svg: Svg, frame: Frame, *, threshold: float | None, lower: float | None, direction: str
) -> None:
    if threshold is None and lower is None:
        return
    top_edge, bottom_edge = frame.y(frame.y1), frame.y(frame.y0)
    if direction == "decrease" and lower is None:
        lower, threshold = threshold, None
    top = frame.y(threshold) if threshold is not None else top_edge
    bottom = frame.y(lower) if lower is not None else bottom_edge
    top, bottom = max(top, top_edge), min(bottom, bottom_edge)
    svg.add(
        "rect",
        class_="band",
        x=PAD_L,
        y=top,
        width=frame.width - PAD_L - PAD_R,
        height=max(0.0, bottom - top),
    )
    for bound in (threshold, lower):
        if bound is not None and frame.y0 <= bound <= frame.y1:
            y = frame.y(bound)
            svg.add("line", class_="threshold", x1=PAD_L, x2=frame.width - PAD_R, y1=y, y2=y)


def _intervals(svg: Svg, frame: Frame, points: Sequence[Point]) -> None:
    for p in points:
        if p.low is not None and p.high is not None:
            x = frame.x(p.at)
            svg.add("line", class_="ci", x1=x, x2=x, y1=frame.y(p.low), y2=frame.y(p.high))
            for v in (p.low, p.high):
                svg.add("line", class_="ci", x1=x - 3, x2=x + 3, y1=frame.y(v), y2=frame.y(v))


def _polyline(svg: Svg, frame: Frame, points: Sequence[Point]) -> None:
    run: list[str] = []
    for p in [*points, Point(datetime.now(UTC), None)]:
        if p.value is None or not math.isfinite(p.value):
            if len(run) > 1:
                svg.add("polyline", class_="series", points=" ".join(run))
            run = []
            continue
        run.append(f"{frame.x(p.at):.1f},{frame.y(p.value):.1f}")
    for p in points:
        if p.value is not None and math.isfinite(p.value):
            cls = "dot drift" if p.flagged else "dot"
            svg.add(
                "circle",
                class_=cls,
                cx=frame.x(p.at),
                cy=frame.y(p.value),
                r=3.5 if p.flagged else 2.2,
                tooltip=f"{p.at:%b %d %H:%M}: {p.value:.4g}",
            )


def _spread(first: datetime, last: datetime, count: int = 6) -> list[datetime]:
    """About ``count`` evenly spaced tick times on whole hours (or days) when the span allows."""
    step = (last - first) / (count - 1)
    unit = timedelta(days=1) if step >= timedelta(days=1) else timedelta(hours=1)
    if step < unit:
        return [first + step * i for i in range(count)]
    stride = unit * math.ceil(step / unit)
    epoch = datetime(2000, 1, 1, tzinfo=first.tzinfo)
    tick = epoch + math.ceil((first - epoch) / unit) * unit
    ticks = []
    while tick <= last:
        ticks.append(tick)
        tick += stride
    return ticks


def stacked_bars(
    buckets: Sequence[datetime],
    stacks: Mapping[str, Sequence[float]],
    *,
    label: str,
    bucket_s: float,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Markup:
    """One bar per bucket, split by series (legend is rendered by the page)."""
    svg = Svg()
    totals = [sum(s[i] for s in stacks.values()) for i in range(len(buckets))]
    first = since or (min(buckets) if buckets else datetime.now(UTC))
    last = until or (max(buckets) if buckets else first)
    t0, t1 = first.timestamp(), last.timestamp() + (0 if until else bucket_s)
    frame = Frame(t0, t1, *_y_range([*totals, 0.0], floor_zero=True))
    _axes(svg, frame, _spread(first, last) if since else list(buckets))
    bar_w = max(1.0, (W - PAD_L - PAD_R) * bucket_s / max(1.0, t1 - t0) - 2)
    for i, at in enumerate(buckets):
        base = 0.0
        for j, (name, series) in enumerate(stacks.items()):
            value = series[i]
            if value <= 0:
                continue
            y_top, y_base = frame.y(base + value), frame.y(base)
            svg.add(
                "rect",
                class_=f"bar {PALETTE[j % len(PALETTE)]}",
                x=frame.x(at) + 1,
                y=y_top,
                width=bar_w,
                height=max(0.5, y_base - y_top),
                tooltip=f"{at:%b %d %H:%M} {name}: {value:g}",
            )
            base += value
    if not buckets:
        svg.add(
            "text",
            "no decisions in this period",
            class_="empty",
            x=W / 2,
            y=H / 2,
            text_anchor="middle",
        )
    return svg.markup(label)
