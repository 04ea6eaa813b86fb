"""``ticketwatch load-history`` and ``ticketwatch versions create``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agent.classify.knn import KnnParams
from agent.commands.common import cli_actor, cli_session, console, run
from agent.config import get_settings
from agent.datasets.records import LabelledFileError, read_labelled_file
from agent.embed import get_embedder
from agent.embedded import resolve_database_url
from agent.services.calibration import calibrate_knn
from agent.services.history_loader import load_history
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy

TaxonomyOpt = Annotated[str, typer.Option(help="Taxonomy name (packaged) or YAML path.")]


def load_history_command(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Labelled CSV or JSONL: text, queue, priority "
            "[, timestamp, external_id, channel, customer_id]",
        ),
    ],
    source: Annotated[
        str | None, typer.Option(help="Source name (default: history:<file>)")
    ] = None,
    taxonomy: TaxonomyOpt = "banking77",
) -> None:
    """Load labelled historical tickets, with embeddings, as outcomes the agent learns from.
    Resumable: run it again after an interruption and it continues."""
    tax = load_taxonomy(taxonomy)
    try:
        records = read_labelled_file(path, taxonomy=tax)
    except LabelledFileError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    settings = get_settings()
    embedder = get_embedder(settings)
    with Progress(
        TextColumn("loading history"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("load", total=len(records))
        report = load_history(
            resolve_database_url(settings),
            records,
            source=source or f"history:{path.stem}",
            embedder=embedder,
            progress=lambda n: bar.advance(task, n),
        )
    console.print(
        f"{report.inserted} loaded, {report.skipped} already present, "
        f"{report.seconds:.1f}s" + (" (indexes rebuilt)" if report.indexes_rebuilt else "")
    )


def create_version_command(
    semver: Annotated[str, typer.Argument(help="Semantic version, e.g. 1.0.0")],
    classifier: Annotated[str, typer.Option(help="knn, llm or cascade")] = "knn",
    taxonomy: TaxonomyOpt = "banking77",
    model: Annotated[str | None, typer.Option(help="LiteLLM model string (llm, cascade)")] = None,
    fallback_model: Annotated[str | None, typer.Option()] = None,
    min_confidence: Annotated[float, typer.Option(min=0, max=1)] = 0.5,
    calibrate: Annotated[bool, typer.Option(help="Fit the knn on held-out history.")] = True,
    k: Annotated[int, typer.Option(min=1, max=100)] = 15,
    rationale: Annotated[str, typer.Option(help="Why this version exists.")] = "",
    promote: Annotated[bool, typer.Option(help="Label it production right away.")] = False,
) -> None:
    """Create an immutable agent version (the whole execution context)."""
    tax = load_taxonomy(taxonomy)
    params = KnnParams(k=k).to_params()
    if calibrate:
        report = calibrate_knn(resolve_database_url(get_settings()), tax, k=k)
        params = report.params.to_params()
        console.print(
            f"knn calibrated on {report.n} held-out tickets: queue accuracy "
            f"{report.accuracy_queue:.3f}, NLL {report.nll_queue:.3f}; tau "
            f"{report.params.tau}, T {report.params.temperature_queue:.2f}"
        )

    async def body() -> None:
        from agent.services.operators import move_label

        async with cli_session(notify_control=promote) as session:
            await create_version(
                session,
                semver=semver,
                classifier=classifier,
                taxonomy=tax,
                actor=cli_actor(),
                params=params,
                thresholds={"min_confidence": min_confidence},
                model=model,
                fallback_model=fallback_model,
                rationale=rationale,
            )
            if promote:
                await move_label(
                    session,
                    label="production",
                    semver=semver,
                    actor=cli_actor(),
                    action="version.promote",
                )

    run(body)
    console.print(f"version {semver} created" + (" and promoted to production" if promote else ""))
