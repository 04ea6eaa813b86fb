"""PNG plots of a replay: the composite and the peers over time, and every signal over time,
each with its threshold band, phase onsets and the windows where an alert was open."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from evals.replay import peers  # noqa: E402
from evals.replay.scoring import onsets  # noqa: E402
from evals.replay.stream import WindowSpec  # noqa: E402
from evals.replay.verdicts import WindowRecord  # noqa: E402

PHASE_COLOURS = ("#f2f2f2", "#fff4e0", "#e8f1fb", "#eaf6ea", "#fbe9ef", "#f1ecf9")
DPI = 110


def _phases(ax: Axes, records: Sequence[WindowRecord], windows: Sequence[WindowSpec]) -> None:
    """Shade each phase, draw a line at each onset."""
    spans: dict[str, list[int]] = {}
    for r in records:
        spans.setdefault(r.window.phase, []).append(r.window.index)
    for i, (_, idx) in enumerate(spans.items()):
        ax.axvspan(min(idx) - 0.5, max(idx) + 0.5, color=PHASE_COLOURS[i % len(PHASE_COLOURS)])
    for onset in onsets(windows):
        ax.axvline(onset.index - 0.5, color="#c0392b", linestyle="--", linewidth=1.2)


def _alerts(ax: Axes, records: Sequence[WindowRecord]) -> None:
    xs = [r.window.index for r in records if r.composite and r.composite.alert_open]
    if xs:
        top = ax.get_ylim()[1]
        ax.scatter(
            xs,
            [top] * len(xs),
            marker="v",
            color="#c0392b",
            s=22,
            zorder=5,
            clip_on=False,
            label="alert open",
        )


def timeline(
    records: Sequence[WindowRecord], windows: Sequence[WindowSpec], title: str, path: Path
) -> Path:
    """Composite score with its thresholds, alert markers, and the peers' verdicts below."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1.2]}
    )
    _phases(top, records, windows)
    xs = [r.window.index for r in records]
    score = [_num(r.composite.score if r.composite else None) for r in records]
    warn = [_num(r.composite.warning_threshold if r.composite else None) for r in records]
    crit = [_num(r.composite.critical_threshold if r.composite else None) for r in records]
    top.plot(xs, score, color="#1f4e79", marker="o", markersize=3, label="composite evidence")
    top.step(xs, warn, where="mid", color="#e67e22", linewidth=1, label="warning threshold")
    top.step(xs, crit, where="mid", color="#c0392b", linewidth=1, label="critical threshold")
    top.set_yscale("symlog", linthresh=10)
    top.set_ylabel("evidence score")
    _alerts(top, records)
    top.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, ncols=4, frameon=False)
    top.set_title(title, fontsize=11, loc="right")
    _phases(bottom, records, windows)
    for row, name in enumerate((peers.KS_PROBS, peers.EVIDENTLY_DEFAULT, "composite")):
        if name == "composite":
            flagged = [r.window.index for r in records if r.composite and r.composite.alert_open]
        else:
            flagged = [r.window.index for r in records if (v := r.peer(name)) and v.drifted]
        bottom.scatter(flagged, [row] * len(flagged), marker="s", s=18, color="#c0392b")
    bottom.set_yticks([0, 1, 2], ["KS on probabilities", "Evidently default", "composite alert"])
    bottom.set_ylim(-0.6, 2.6)
    bottom.set_xlabel("window (simulated clock)")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def signals_grid(
    records: Sequence[WindowRecord], windows: Sequence[WindowSpec], title: str, path: Path
) -> Path:
    """One small panel per signal: value, threshold band, onsets, alert markers."""
    names = sorted({n for r in records if r.composite for n in r.composite.signals})
    cols = 4
    rows = max(1, math.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(15, 2.6 * rows), sharex=True, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _phases(ax, records, windows)
        xs, values, uppers, lowers = [], [], [], []
        for r in records:
            point = r.composite.signals.get(name) if r.composite else None
            xs.append(r.window.index)
            values.append(_num(point.value if point else None))
            uppers.append(_num(point.threshold if point else None))
            lowers.append(_num(point.lower_threshold if point else None))
        ax.plot(xs, values, color="#1f4e79", marker="o", markersize=2.5, linewidth=1)
        ax.step(xs, uppers, where="mid", color="#e67e22", linewidth=0.9)
        if any(not math.isnan(v) for v in lowers):
            ax.step(xs, lowers, where="mid", color="#e67e22", linewidth=0.9)
            ax.fill_between(xs, lowers, uppers, step="mid", color="#e67e22", alpha=0.08)
        drifted = [
            (r.window.index, _num(p.value))
            for r in records
            if r.composite and (p := r.composite.signals.get(name)) and p.drifted
        ]
        if drifted:
            ax.scatter(*zip(*drifted, strict=True), color="#c0392b", s=10, zorder=4)
        _alerts(ax, records)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"{title}: every signal (orange: calibrated threshold; red: beyond it)", fontsize=11
    )
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)
