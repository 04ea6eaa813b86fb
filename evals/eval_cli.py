"""``ticketwatch eval``: golden sets, scoring a version, the release gate.

Exit codes: 0 done (gate passed), 1 gate failed, 2 usage or setup error (the message says
what to do, e.g. build the golden set first).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import psycopg
import sqlalchemy.exc
import typer

from agent.commands.common import cli_actor, cli_session
from agent.commands.export_opts import (
    MapOpt,
    PresetOpt,
    PriorityMapOpt,
    TimezoneOpt,
    export_from_options,
)
from agent.config import get_settings
from agent.datasets.fetch import DatasetUnavailableError
from agent.datasets.records import LabelledFileError
from agent.embed import EmbeddingError
from agent.models.tickets import OVERRIDE_REASONS
from agent.services.operators import OperatorError
from agent.taxonomy import HUMAN_TRIAGE, load_taxonomy
from evals import report
from evals.errors import EvalSetupError
from evals.gate import GatePolicy
from evals.gate_service import run_gate
from evals.golden import sources
from evals.golden.cases import write_golden
from evals.golden.overrides import override_candidates
from evals.golden.store import build_golden_set, golden_dir
from evals.listing import print_listing, snapshot
from evals.progress import RichProgress
from evals.service import ScoredRun, evaluate

eval_app = typer.Typer(
    help="Golden sets, scoring agent versions, and the release gate.", no_args_is_help=True
)
T = TypeVar("T")

# Bad input at the boundary (an unknown split, an invalid taxonomy file) is a ValueError too,
# as in the datasets CLI: reported with its message, not a traceback.
SETUP_ERRORS = (
    EvalSetupError,
    OperatorError,
    LabelledFileError,
    DatasetUnavailableError,
    FileNotFoundError,
    EmbeddingError,
    ValueError,
)
DB_ERRORS = (
    psycopg.OperationalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.ProgrammingError,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only (on stdout).")]
GoldenOpt = Annotated[
    str | None,
    typer.Option(
        "--golden",
        help="Golden set NAME or NAME@VERSION (default: banking77-test, latest version).",
    ),
]
TaxonomyOpt = Annotated[str, typer.Option(help="Taxonomy name (packaged) or YAML path.")]


def _run(body: Callable[[], Awaitable[T]]) -> T:
    """Run an async command body; mistakes a person can fix exit 2 with the reason."""
    try:
        return asyncio.run(body())  # type: ignore[arg-type]
    except SETUP_ERRORS as exc:
        report.make_console(stderr=True).print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    except DB_ERRORS as exc:
        report.make_console(stderr=True).print(
            f"[red]error:[/] the database is unreachable or not migrated "
            f"(run `ticketwatch migrate`): {exc}"
        )
        raise typer.Exit(2) from None


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@eval_app.command("build-golden")
def build_golden(
    source: Annotated[
        str,
        typer.Option(
            help="banking77:test, banking77:train, or a labelled CSV/JSONL or golden JSONL file."
        ),
    ] = sources.DEFAULT_SOURCE,
    name: Annotated[
        str | None, typer.Option(help="Default: from the source (banking77-test).")
    ] = None,
    version: Annotated[str | None, typer.Option(help="Default: the taxonomy's version.")] = None,
    taxonomy: TaxonomyOpt = "banking77",
    per_queue: Annotated[
        int | None, typer.Option(min=1, help="Keep at most N cases per queue (a seeded draw).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the per-queue draw.")] = 0,
    column_map: MapOpt = None,
    preset: PresetOpt = None,
    priority_map: PriorityMapOpt = None,
    timezone: TimezoneOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a golden set from a labelled source: content-addressed, idempotent. A helpdesk's
    CSV export is read through --preset or --map (docs/own-data.md)."""
    settings = get_settings()
    export = export_from_options(column_map, preset, priority_map, timezone)

    async def body() -> dict[str, Any]:
        tax = load_taxonomy(taxonomy)
        cases = sources.read_source(source, tax, export=export)
        set_name = name or sources.default_name(source)
        if per_queue:
            cases = sources.per_queue_sample(cases, per_queue, seed=seed)
            set_name = name or f"{set_name}-{per_queue}pq"
        async with cli_session() as session:
            built = await build_golden_set(
                session,
                data_dir=settings.data_dir,
                name=set_name,
                version=version or tax.version,
                cases=cases,
                taxonomy=tax,
                source=source if not per_queue else f"{source} ({per_queue}/queue, seed {seed})",
                created_by=cli_actor().name,
            )
            row = built.row
            return {
                "name": row.name,
                "version": row.version,
                "content_hash": row.content_hash,
                "n_cases": row.n_cases,
                "path": str(built.path),
                "created": built.created,
                "file_restored": built.restored_file,
                "taxonomy": row.taxonomy,
                "queues": {
                    q: sum(c.queue == q for c in cases) for q in (*tax.queue_names, HUMAN_TRIAGE)
                },
            }

    summary = _run(body)
    if as_json:
        _echo_json(summary)
        return
    state = "built" if summary["created"] else "already built (unchanged)"
    report.make_console().print(
        f"golden set [bold]{summary['name']} {summary['version']}[/] {state}: "
        f"{summary['n_cases']} cases, hash {summary['content_hash'][:12]}, "
        f"{summary['taxonomy']}\n  {summary['path']}"
    )


@eval_app.command("run")
def run(
    version: Annotated[
        str, typer.Option("--version", help="Semver, or a label: production, canary, shadow.")
    ] = "production",
    golden: GoldenOpt = None,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="Runs per case (pass^k).")] = 3,
    curve: Annotated[
        Path | None,
        typer.Option(
            "--curve",
            help="PNG of the accuracy-coverage curve "
            "(default: <data_dir>/evals/run-<id>-curve.png).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score a version on a golden set through the real graph; store and print the run,
    and draw its accuracy-coverage curve."""
    settings = get_settings()

    async def body() -> Any:
        with RichProgress(report.make_console(stderr=True), enabled=not as_json) as bar:
            return await evaluate(
                settings,
                version_ref=version,
                golden_ref=golden,
                k=k,
                created_by=cli_actor().name,
                progress=bar,
            )

    scored = _run(body)
    png = _write_curve(
        scored, curve or settings.data_dir / "evals" / f"run-{scored.run.id}-curve.png"
    )
    if as_json:
        _echo_json({**report.run_json(scored), "curve_png": png and str(png)})
        return
    console = report.make_console()
    report.print_run(console, scored)
    if png is not None:
        console.print(f"accuracy-coverage curve: {png}", soft_wrap=True)  # one line: a path
    else:
        console.print("no accuracy-coverage curve: no run could be routed at any confidence bar")


def _write_curve(scored: ScoredRun, path: Path) -> Path | None:
    """The run's curve as a PNG at ``path``; None when it has no points."""
    from evals.curve_plot import write_curve_png  # matplotlib: only when a run has finished

    m = scored.run.metrics
    if not m.get("curve"):
        return None
    title = (
        f"version {scored.version.semver} on {scored.golden.name} {scored.golden.version} "
        f"(k={scored.run.k})"
    )
    try:
        return write_curve_png(
            m["curve"], path, title=title, operating=(m["coverage"], m["queue"]["routed_accuracy"])
        )
    except OSError as exc:
        report.make_console(stderr=True).print(f"[red]error:[/] cannot write {path}: {exc}")
        raise typer.Exit(2) from None


@eval_app.command("gate")
def gate(
    candidate: Annotated[str, typer.Option(help="The version to release (semver or label).")],
    baseline: Annotated[str, typer.Option(help="What it must not fall below.")] = "production",
    golden: GoldenOpt = None,
    k: Annotated[int, typer.Option("--k", min=1, max=20)] = 1,
    max_drop: Annotated[
        float | None,
        typer.Option(min=0, max=0.99, help="Largest relative drop allowed (default 0.03)."),
    ] = None,
    min_cases: Annotated[
        int | None, typer.Option(min=1, help="Smallest segment gated on its own (default 30).")
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Score again even if a stored run matches.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fail (exit 1) when the candidate scores more than 3% (relative) below the baseline,
    overall or in any segment with enough cases."""
    settings = get_settings()
    policy = GatePolicy(
        max_relative_drop=settings.eval_gate_max_relative_drop if max_drop is None else max_drop,
        min_segment_cases=min_cases or settings.eval_gate_min_segment_cases,
    )

    async def body() -> Any:
        with RichProgress(report.make_console(stderr=True), enabled=not as_json) as bar:
            return await run_gate(
                settings,
                candidate=candidate,
                baseline=baseline,
                golden_ref=golden,
                k=k,
                policy=policy,
                created_by=cli_actor().name,
                fresh=fresh,
                progress=bar,
            )

    outcome = _run(body)
    if as_json:
        _echo_json(report.gate_json(outcome.candidate, outcome.baseline, outcome.result))
    else:
        report.print_gate(
            report.make_console(), outcome.candidate, outcome.baseline, outcome.result
        )
    if not outcome.result.passed:
        raise typer.Exit(1)


@eval_app.command("list")
def list_command(
    runs: Annotated[int, typer.Option(min=0, help="Recent runs shown.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Golden sets and recent eval runs."""

    async def body() -> dict[str, Any]:
        async with cli_session() as session:
            return await snapshot(session, runs=runs)

    data = _run(body)
    if as_json:
        _echo_json(data)
    else:
        print_listing(report.make_console(), data)


@eval_app.command("export-overrides")
def export_overrides(
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="JSONL to write (default: <data_dir>/golden/candidates/…)."),
    ] = None,
    since: Annotated[datetime | None, typer.Option(help="Only overrides made since then.")] = None,
    reason: Annotated[
        list[str] | None, typer.Option(help="Only these reason categories (repeatable).")
    ] = None,
    taxonomy: TaxonomyOpt = "banking77",
    as_json: JsonOpt = False,
) -> None:
    """Export reviewed overrides as golden-set candidates (review them, then build-golden)."""
    settings = get_settings()

    unknown = sorted(set(reason or ()) - set(OVERRIDE_REASONS))
    if unknown:
        report.make_console(stderr=True).print(
            f"[red]error:[/] unknown reason(s) {unknown}; use {', '.join(OVERRIDE_REASONS)}"
        )
        raise typer.Exit(2)

    async def body() -> dict[str, Any]:
        tax = load_taxonomy(taxonomy)
        async with cli_session() as session:
            found = await override_candidates(
                session, taxonomy=tax, since=since, reasons=reason or None
            )
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        path = out_path or golden_dir(settings.data_dir) / "candidates" / f"overrides-{stamp}.jsonl"
        digest = write_golden(found.cases, path)
        return {
            "path": str(path),
            "cases": len(found.cases),
            "content_hash": digest,
            "outside_taxonomy": found.outside_taxonomy,
            "queues": {q: sum(c.queue == q for c in found.cases) for q in tax.queue_names},
        }

    summary = _run(body)
    if as_json:
        _echo_json(summary)
        return
    report.make_console().print(
        f"{summary['cases']} golden-set candidates from reviewed overrides → {summary['path']}"
    )
    if summary["outside_taxonomy"]:
        report.make_console().print(
            f"{summary['outside_taxonomy']} overrides name a queue outside the taxonomy "
            "and were left out"
        )
    report.make_console().print(
        "review them, then: ticketwatch eval build-golden --source <file> --name "
        "overrides --version <date>"
    )
