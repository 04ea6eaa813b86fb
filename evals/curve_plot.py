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

DPI = 110
# Thresholds marked on the curve: the bars a team is likely to weigh.
MARKED_THRESHOLDS = (0.5, 0.75, 0.9, 0.95)


def _nearest(points: Sequence[dict[str, Any]], threshold: float) -> dict[str, Any]:
    return min(points, key=lambda p: abs(p["threshold"] - threshold))


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
    for t in MARKED_THRESHOLDS:
        p = _nearest(points, t)
        if abs(p["threshold"] - t) <= 0.02:
            ax.annotate(
                f"t={p['threshold']:.2f}",
                (p["coverage"], p["accuracy"]),
                textcoords="offset points",
                xytext=(4, -12),
                fontsize=7,
                color="#555555",
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
