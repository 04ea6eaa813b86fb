"""Printing eval runs and gate results: Rich tables for people, dicts for ``--json``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

from evals.gate import GateResult, GateRow
from evals.service import ScoredRun

HEAD_ROWS = (
    ("accuracy", "accuracy (end to end; human triage right only for a person's case)"),
    ("routed_accuracy", "accuracy on routed tickets (auto-routed)"),
    ("model_accuracy", "classifier top-1 accuracy (thresholds ignored)"),
    ("macro_f1", "macro-F1 (end to end)"),
    ("model_macro_f1", "classifier macro-F1"),
    ("ece", "expected calibration error"),
)


def make_console(*, stderr: bool = False) -> Console:
    """A console as wide as the terminal, or 120 columns when the output is piped (CI logs)."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 120)


def run_json(scored: ScoredRun) -> dict[str, Any]:
    run = scored.run
    return {
        "run_id": str(run.id),
        "reused": scored.reused,
        "version": scored.version.semver,
        "classifier": scored.version.classifier,
        "golden": {
            "name": scored.golden.name,
            "version": scored.golden.version,
            "content_hash": scored.golden.content_hash,
            "n_cases": scored.golden.n_cases,
        },
        "k": run.k,
        "finished_at": run.finished_at.isoformat(),
        "context": run.context,
        "metrics": run.metrics,
        "per_segment": run.per_segment,
    }


def describe(scored: ScoredRun) -> str:
    g, run = scored.golden, scored.run
    how = "stored run reused" if scored.reused else "stored as run"
    return (
        f"version [bold]{scored.version.semver}[/] ({scored.version.classifier}) on golden set "
        f"[bold]{g.name} {g.version}[/] ({g.n_cases} cases, {g.content_hash[:12]}), k={run.k}; "
        f"{how} {run.id}"
    )


def _pct(x: float) -> str:
    return f"{x:.1%}"


def print_run(console: Console, scored: ScoredRun) -> None:
    m = scored.run.metrics
    console.print(describe(scored))
    heads = Table(title="routing quality")
    heads.add_column("metric", overflow="fold")
    heads.add_column("queue", justify="right")
    heads.add_column("priority", justify="right")
    for key, label in HEAD_ROWS:
        fmt = (lambda v: f"{v:.4f}") if key == "ece" else _pct
        heads.add_row(label, fmt(m["queue"][key]), fmt(m["priority"][key]))
    console.print(heads)
    pk = m["pass_k"]
    console.print(
        f"coverage (routed by the agent) {_pct(m['coverage'])}; pass^{pk['k']} queue "
        f"{_pct(pk['queue'])}, queue+priority {_pct(pk['route'])}; consistency across runs "
        f"{_pct(pk['consistency'])}; failures {m['failures']}; modes {m['modes']}"
    )
    _print_escalation(console, m)
    _print_overlap(console, m["exact_matches_in_history"], m["n_cases"])
    console.print(
        f"cost ${m['cost_usd']['total']:.4f} (${m['cost_usd']['per_run']:.6f}/run), tokens "
        f"{m['tokens']['prompt']}+{m['tokens']['completion']}; graph latency p50 "
        f"{m['latency_ms']['p50']:.1f} ms, p95 {m['latency_ms']['p95']:.1f} ms "
        f"({m.get('concurrency', '?')} cases at once); embedding {m['embed_ms_per_case']:.2f} "
        f"ms/case (batched); {m['wall_seconds']:.1f} s in all"
    )
    console.print(_per_class(scored, "queue"))
    console.print(_per_class(scored, "priority"))


OVERLAP_WARNING_SHARE = 0.01
CURVE_ROWS = (0.5, 0.75, 0.9, 0.95)


def _print_escalation(console: Console, m: dict[str, Any]) -> None:
    """Handing over as a detector, and a few points of the accuracy-coverage curve."""
    esc = m.get("escalation")
    if esc is None:
        return
    errors = esc["errors"]
    line = f"handed to a person: {_pct(esc['rate'])} of runs ({esc['escalated']}); "
    if esc["positives"]:
        line += (
            f"of the {esc['positives']} runs whose right route is a person: escalation "
            f"precision {_pct(esc['precision'])}, recall {_pct(esc['recall'])}; "
        )
    else:
        line += "no case's right route is a person (escalation recall not defined); "
    line += (
        f"counting every run the classifier got wrong as needing a person too "
        f"({errors['positives']}): precision {_pct(errors['precision'])}, "
        f"recall {_pct(errors['recall'])}"
    )
    console.print(line)
    if m.get("curve"):
        console.print(_curve_table(m["curve"]))


def point_for_bar(points: Sequence[dict[str, Any]], bar: float) -> dict[str, Any] | None:
    """The curve's point for a bar: the lowest threshold at or above it (None above all)."""
    above = [p for p in points if p["threshold"] >= bar]
    return min(above, key=lambda p: p["threshold"]) if above else None


def _curve_table(points: list[dict[str, Any]]) -> Table:
    table = Table(title="accuracy-coverage (routed if queue confidence >= bar)")
    for col in ("bar", "coverage", "accuracy of routed", "routed runs"):
        table.add_column(col, justify="right")
    shown = [max(points, key=lambda p: p["coverage"])]  # the lowest bar: all it can route
    shown += [p for t in CURVE_ROWS if (p := point_for_bar(points, t)) is not None]
    for p in sorted({id(p): p for p in shown}.values(), key=lambda p: p["threshold"]):
        table.add_row(
            f"{p['threshold']:.3f}", _pct(p["coverage"]), _pct(p["accuracy"]), str(p["n"])
        )
    return table


def _print_overlap(console: Console, exact: int, n_cases: int) -> None:
    """Golden cases whose text is in history score as if memorised: say how many."""
    if not exact:
        return
    share = exact / max(n_cases, 1)
    note = f"{exact} golden cases ({share:.1%}) have an exact copy in history"
    if share > OVERLAP_WARNING_SHARE:
        console.print(f"[yellow]warning:[/] {note}: the set overlaps what the agent retrieves")
    else:
        console.print(f"note: {note}")


def _per_class(scored: ScoredRun, head: str) -> Table:
    m, segs = scored.run.metrics, scored.run.per_segment
    table = Table(title=f"per {head} (end to end)")
    table.add_column(head, overflow="fold")
    for col in ("cases", "precision", "recall", "F1", "coverage"):
        table.add_column(col, justify="right")
    for label, s in m[head]["per_class"].items():
        seg = segs.get(f"{head}:{label}", {})
        table.add_row(
            label,
            str(seg.get("n", 0)),
            _pct(s["precision"]),
            _pct(s["recall"]),
            _pct(s["f1"]),
            _pct(seg["coverage"]) if seg else "-",
        )
    return table


def _side(scored: ScoredRun) -> dict[str, Any]:
    """A gate side: which run, without its per-segment detail (the rows carry that)."""
    return {k: v for k, v in run_json(scored).items() if k != "per_segment"}


def gate_json(candidate: ScoredRun, baseline: ScoredRun, result: GateResult) -> dict[str, Any]:
    return {
        "passed": result.passed,
        "policy": asdict(result.policy),
        "candidate": _side(candidate),
        "baseline": _side(baseline),
        "rows": [asdict(r) for r in result.rows],
        "failures": [asdict(r) for r in result.failures],
        "small_segments": result.small_segments,
        "skipped": result.skipped,
        "notes": result.notes,
        "excluded_cases": result.excluded,
    }


def _gate_table(title: str, rows: list[GateRow]) -> Table:
    table = Table(title=title)
    table.add_column("segment", overflow="fold")
    table.add_column("metric", overflow="fold")
    for col in ("cases", "baseline", "candidate", "change"):
        table.add_column(col, justify="right")
    table.add_column("status")
    for r in rows:
        status = "[red]FAIL[/]" if r.failed else "[green]ok[/]"
        change = 0.0 - r.relative_drop  # 0.0 - x: no "-0.0%" for an unchanged score
        table.add_row(
            r.segment,
            r.metric,
            str(r.n),
            _pct(r.baseline),
            _pct(r.candidate),
            f"{change:+.1%}",
            status,
        )
    return table


def print_gate(
    console: Console, candidate: ScoredRun, baseline: ScoredRun, result: GateResult
) -> None:
    p = result.policy
    console.print(f"candidate: {describe(candidate)}")
    console.print(f"baseline:  {describe(baseline)}")
    console.print(
        f"rule: fail when more than {p.max_relative_drop:.0%} (relative) below the baseline, "
        f"overall or in a segment with at least {p.min_segment_cases} cases"
    )
    for note in result.notes:
        console.print(f"across taxonomies: {note}", highlight=False)
    if result.small_segments:
        small = ", ".join(f"{s} ({n})" for s, n in result.small_segments.items())
        console.print(f"segments too small to gate on their own: {small}")
    for row, why in result.skipped.items():
        console.print(f"not gated: {row} ({why})")
    if result.passed:
        console.print(_gate_table("gate rows", result.rows))
        console.print(
            f"[green]GATE PASSED[/]: {candidate.version.semver} is within tolerance "
            f"of {baseline.version.semver} on {len(result.rows)} rows"
        )
    else:
        console.print(_gate_table("failing rows", result.failures))
        console.print(
            f"[red]GATE FAILED[/]: {len(result.failures)} of {len(result.rows)} rows "
            f"of {candidate.version.semver} are too far below "
            f"{baseline.version.semver}"
        )
