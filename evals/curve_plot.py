"""The accuracy-coverage curve of an eval run as a PNG, for choosing a confidence target.

Drawn with matplotlib's object API on the Agg canvas (no pyplot state, no display), from the
points stored in the run's metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from evals.report import point_for_bar

DPI = 110
# Thresholds marked on the curve: the bars a team is likely to weigh.
MARKED_THRESHOLDS = (0.5, 0.75, 0.9, 0.95)


def _marked(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points of ``MARKED_THRESHOLDS``, leaving out one too close to another to read."""
    out: list[dict[str, Any]] = []
    for bar in MARKED_THRESHOLDS:
        p = point_for_bar(points, bar)
        if p is not None and all(abs(p["coverage"] - q["coverage"]) > 0.06 for q in out):
            out.append(p)
    return out


def write_curve_png(
    points: Sequence[dict[str, Any]],
    path: Path,
    *,
    title: str,
    operating: tuple[float, float] | None = None,
) -> Path:
    """Accuracy of the auto-routed tickets against coverage, one point per confidence bar;
    ``operating`` is the run's own (coverage, routed accuracy). Raises ``ValueError`` when
    there are no points (nothing a bar could route)."""
    if not points:
        raise ValueError("the run has no accuracy-coverage points: no ticket could be routed")
    fig = Figure(figsize=(7, 4.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ordered = sorted(points, key=lambda p: p["coverage"])
    ax.plot(
        [p["coverage"] for p in ordered],
        [p["accuracy"] for p in ordered],
        color="#1f4e79",
        marker="o",
        markersize=2.5,
        linewidth=1.2,
        label="confidence bar t: routed if confidence >= t",
    )
    for p in _marked(points):
        ax.annotate(
            f"t={p['threshold']:.2f}",
            (p["coverage"], p["accuracy"]),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=7,
            color="#333333",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
        )
    if operating is not None:
        ax.scatter(*operating, color="#c0392b", s=36, zorder=5, label="this version as it is")
    ax.set_xlabel("coverage (share of all tickets routed by the agent)")
    ax.set_ylabel("accuracy of the routed tickets")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png")
    return path
