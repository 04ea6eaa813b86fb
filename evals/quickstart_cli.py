"""``ticketwatch quickstart``: from a helpdesk export to a promoted, evaluated version, a
tenant key and the commands to serve (docs/own-data.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agent.commands.common import cli_actor
from agent.commands.export_opts import (
    MapOpt,
    PresetOpt,
    PriorityMapOpt,
    ProgressLines,
    TimezoneOpt,
    export_from_options,
)
from agent.config import get_settings
from agent.datasets.records import LabelledFileError
from agent.services.operators import OperatorError
from evals.errors import EvalSetupError
from evals.quickstart import QuickstartError, QuickstartOptions, run_quickstart, serve_commands
from evals.quickstart_report import write_report

console = Console(highlight=False, soft_wrap=True)


def quickstart(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Labelled CSV export or JSONL.")
    ],
    column_map: MapOpt = None,
    preset: PresetOpt = None,
    priority_map: PriorityMapOpt = None,
    timezone: TimezoneOpt = None,
    taxonomy: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="A taxonomy YAML (default: drafted)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where the state, taxonomy and report go.")] = Path(
        "quickstart"
    ),
    golden_share: Annotated[
        float, typer.Option(min=0.01, max=0.49, help="Share of each queue kept as golden set.")
    ] = 0.1,
    version: Annotated[str, typer.Option(help="The agent version created.")] = "1.0.0",
    target_accuracy: Annotated[
        float | None,
        typer.Option(
            min=0.5, max=0.999, help="Fit the threshold: auto-routed accuracy >= this (95% conf.)."
        ),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant name (default: the file's).")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="Eval runs per case.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the golden split and the draft.")] = 0,
    restart: Annotated[
        bool, typer.Option(help="Forget OUT's recorded steps (e.g. for a changed export).")
    ] = False,
) -> None:
    """From a labelled export to a served agent: taxonomy draft, golden split, history load,
    calibrated version promoted, eval report, tenant key, report page. Resumable: a rerun
    skips the steps done."""
    export = export_from_options(column_map, preset, priority_map, timezone)
    options = QuickstartOptions(
        path=path,
        out=out,
        export=export,
        taxonomy=taxonomy,
        golden_share=golden_share,
        version=version,
        seed=seed,
        tenant=tenant,
        target_accuracy=target_accuracy,
        eval_k=k,
        restart=restart,
    )
    try:
        result = run_quickstart(
            get_settings(),
            options,
            actor=cli_actor(),
            say=lambda line: console.print(line, markup=False),
            progress=lambda label, total: ProgressLines(label, total),
        )
    except LabelledFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    except (QuickstartError, EvalSetupError, OperatorError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, QuickstartError) else 1) from exc
    commands = serve_commands()
    report = write_report(out, result.state, commands)
    console.print(f"report: {report}", markup=False)
    name = result.state["steps"]["tenant"]["name"]
    if result.api_key is not None:
        console.print(
            f"API key of tenant {name} (store it now, it is not shown again):\n{result.api_key}",
            markup=False,
        )
    else:
        console.print(
            f"the API key of tenant {name} was printed when it was created and is not shown "
            "again; `ticketwatch tenants add NAME` makes another tenant",
            markup=False,
        )
    console.print("next, each in its own terminal:", markup=False)
    for line in commands:
        console.print(f"  {line}", markup=False)
