"""``ticketwatch versions compare``: a candidate against production, and its verdict."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from agent.commands.common import cli_actor, cli_session, console, run
from agent.rollout.figures import Proportion, SegmentFigures
from agent.services.rollout import Comparison, Thresholds, compare_versions, guard_canary


def compare(
    candidate: Annotated[str, typer.Argument(help="A semver, or the label canary / shadow.")],
    baseline: Annotated[str, typer.Option(help="A semver or a label.")] = "production",
    stream: Annotated[
        str | None, typer.Option(help="canary or shadow (default: the label on the candidate).")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="From (default: the candidate's first decision).")
    ] = None,
    alpha: Annotated[float, typer.Option(min=1e-6, max=0.5, help="Error rate.")] = 0.05,
    margin: Annotated[
        float, typer.Option(min=0.0, max=0.49, help="Tolerated excess of 'candidate worse'.")
    ] = 0.1,
    min_agreement: Annotated[
        float, typer.Option(min=0.01, max=0.99, help="Shadow: least agreement with production.")
    ] = 0.8,
    auto: Annotated[
        bool, typer.Option("--auto", help="On 'roll back', stop the canary (audited).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Agreement, accuracy (reviewed, outcomes) with 95% intervals, escalation, latency and
    cost per segment, then the sequential verdict: promote, hold or roll back. Exit 0 unless
    the verdict is 'roll back' (exit 3)."""
    thresholds = Thresholds(alpha=alpha, margin=margin, min_agreement=min_agreement)

    async def body() -> Comparison:
        async with cli_session(notify_control=auto) as session:
            result = await compare_versions(
                session,
                candidate=candidate,
                baseline=baseline,
                stream=stream,
                since=since,
                thresholds=thresholds,
            )
            if auto:
                await guard_canary(session, result, actor=cli_actor())
            return result

    result = run(body)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        _print(result)
    if result.verdict.action == "roll back":
        raise typer.Exit(3)


def _p(value: Proportion | None) -> str:
    if value is None or value.rate is None:
        return "-"
    return f"{value.rate:.1%} [{value.low:.1%}, {value.high:.1%}] ({value.k}/{value.n})"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _row(seg: SegmentFigures) -> list[Any]:
    b, c = seg.baseline, seg.candidate
    return [
        seg.segment,
        f"{b.n} / {c.n}",
        _p(seg.agreement),
        f"{_p(b.reviewed_accuracy)}\n{_p(c.reviewed_accuracy)}",
        f"{_p(b.outcome_accuracy)}\n{_p(c.outcome_accuracy)}",
        f"{_p(b.escalation)}\n{_p(c.escalation)}",
        f"{_ms(b.latency_p50_ms)}/{_ms(b.latency_p95_ms)}\n"
        f"{_ms(c.latency_p50_ms)}/{_ms(c.latency_p95_ms)}",
        f"{b.cost_total_usd:.4f}\n{c.cost_total_usd:.4f}",
    ]


def _print(result: Comparison) -> None:
    console.print(
        f"[bold]{result.candidate}[/] ({result.stream}) against {result.baseline} "
        f"since {result.since.isoformat()[:19]}: each cell baseline, then candidate"
    )
    table = Table(
        "segment",
        "n",
        "agreement",
        "accuracy (reviewed)",
        "accuracy (outcomes)",
        "escalation",
        "latency p50/p95 ms",
        "cost USD",
    )
    for seg in result.segments:
        table.add_row(*_row(seg))
    console.print(table)
    v = result.verdict
    colour = {"promote": "green", "hold": "yellow", "roll back": "red"}[v.action]
    console.print(f"verdict: [{colour}]{v.action}[/]: {v.reason}")
    if result.rolled_back:
        console.print(f"[red]canary {result.candidate} stopped (0%)[/], audited")
