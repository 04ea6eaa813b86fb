"""``ticketwatch taxonomy init`` drafts a taxonomy from a labelled export; ``taxonomy migrate``
relabels history for a new taxonomy version."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated

import typer

from agent.commands.common import cli_actor, cli_session, console, run
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
from agent.services.taxonomy_migration import MigrationReport, migrate_taxonomy
from agent.taxonomies.draft import (
    DraftOptions,
    draft_taxonomy,
    read_draft_tickets,
    sample_per_label,
    write_taxonomy,
)
from agent.taxonomy import Taxonomy, load_taxonomy
from agent.taxonomy_mapping import MappingError, load_mapping

taxonomy_app = typer.Typer(
    help="Draft routing taxonomies from a team's own tickets; move history to a new version."
)


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


@taxonomy_app.command("migrate")
def migrate_command(
    old: Annotated[str, typer.Argument(help="The taxonomy history is labelled in (YAML or name).")],
    new: Annotated[str, typer.Argument(help="The new taxonomy version (YAML or name).")],
    mapping_file: Annotated[
        Path,
        typer.Option(
            "--map", exists=True, dir_okay=False, help="mapping.yaml: each old queue's new queue."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option(help="Report what would be written; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Relabel history for a new taxonomy version (renamed, merged or split queues): new
    outcome rows under NEW; the old ones stay for versions on OLD. Idempotent."""
    old_tax, new_tax = _taxonomy(old), _taxonomy(new)
    try:
        mapping = load_mapping(mapping_file, old=old_tax, new=new_tax)
    except MappingError as exc:
        stderr.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    lines: list[ProgressLines] = []

    def progress(n: int, total: int) -> None:
        if not lines:
            lines.append(ProgressLines("relabelling outcomes", total))
        lines[0](n)

    async def body() -> MigrationReport:
        async with cli_session() as session:
            return await migrate_taxonomy(
                session,
                old=old_tax,
                new=new_tax,
                mapping=mapping,
                actor=cli_actor(),
                dry_run=dry_run,
                progress=progress,
            )

    report = run(body)
    if as_json:
        console.print_json(data=dataclasses.asdict(report))
        return
    for line in report.lines():
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _taxonomy(ref: str) -> Taxonomy:
    try:
        return load_taxonomy(ref)
    except (FileNotFoundError, ValueError) as exc:
        stderr.print(f"[red]error:[/] {ref}: {exc}", highlight=False)
        raise typer.Exit(2) from exc
