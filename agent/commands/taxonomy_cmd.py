"""``ticketwatch taxonomy init``: draft a taxonomy from a labelled export."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from agent.commands.common import console
from agent.commands.export_opts import (
    MapOpt,
    PresetOpt,
    PriorityMapOpt,
    ProgressLines,
    TimezoneOpt,
    export_from_options,
    stderr,
)
from agent.config import get_settings
from agent.datasets.records import LabelledFileError
from agent.embed import get_embedder
from agent.taxonomies.draft import (
    DraftOptions,
    draft_taxonomy,
    read_draft_tickets,
    sample_per_label,
    write_taxonomy,
)
from agent.taxonomy import load_taxonomy

taxonomy_app = typer.Typer(help="Draft routing taxonomies from a team's own tickets.")


@taxonomy_app.command("init")
def init_command(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Labelled CSV export or JSONL.")
    ],
    out: Annotated[Path, typer.Option(help="Where to write the taxonomy YAML.")],
    column_map: MapOpt = None,
    preset: PresetOpt = None,
    priority_map: PriorityMapOpt = None,
    timezone: TimezoneOpt = None,
    name: Annotated[str | None, typer.Option(help="Taxonomy name (default: the file's).")] = None,
    version: Annotated[str, typer.Option(help="Taxonomy version.")] = "1",
    min_examples: Annotated[
        int, typer.Option(min=1, help="Advise on queues with fewer tickets than this.")
    ] = 20,
    confusion_threshold: Annotated[
        float,
        typer.Option(min=0.01, max=1.0, help="Advise on queue pairs a kNN vote mixes this often."),
    ] = 0.2,
    sample_per_queue: Annotated[
        int, typer.Option(min=3, help="Tickets per queue embedded (examples, confusion).")
    ] = 200,
    drop_singletons: Annotated[
        bool, typer.Option(help="Leave out labels with a single ticket instead of failing.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the per-queue sample.")] = 0,
) -> None:
    """Draft a taxonomy from a labelled export: one queue per label, with descriptions,
    medoid examples and priorities from the data, and advice on queues too small to learn
    or too alike to tell apart."""
    if out.exists() and not force:
        stderr.print(f"[red]error:[/] {out} exists; pass --force to overwrite it")
        raise typer.Exit(2)
    export = export_from_options(column_map, preset, priority_map, timezone)
    try:
        tickets, notes = read_draft_tickets(path, export, drop_singletons=drop_singletons)
    except LabelledFileError as exc:
        stderr.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(1) from exc
    for note in notes:
        stderr.print(f"[yellow]note:[/] {note}", highlight=False)
    options = DraftOptions(
        name=name or _name_of(path),
        version=version,
        min_examples=min_examples,
        confusion_threshold=confusion_threshold,
        sample_per_queue=sample_per_queue,
        seed=seed,
    )
    embedder = get_embedder(get_settings())
    total = len(sample_per_label(tickets, sample_per_queue, seed))
    draft = draft_taxonomy(
        tickets,
        embedder=embedder,
        options=options,
        progress=ProgressLines("embedding tickets", total),
    )
    advice = draft.advice(min_examples=min_examples, threshold=confusion_threshold)
    header = [
        f"Drafted by `ticketwatch taxonomy init {path.name}`: review it before production.",
        *(f"advice: {a}" for a in advice),
    ]
    write_taxonomy(draft.taxonomy, out, header=header)
    load_taxonomy(out)  # the file loads as written (a failure here is a bug, not bad input)
    console.print(
        f"taxonomy {draft.taxonomy.name} {draft.taxonomy.version}: "
        f"{len(draft.taxonomy.queues)} queues from {len(tickets)} tickets "
        f"({draft.embedded} embedded) -> {out}",
        highlight=False,
    )
    for line in advice:
        console.print(f"[yellow]advice:[/] {line}", highlight=False)


def _name_of(path: Path) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-._") or "taxonomy"
