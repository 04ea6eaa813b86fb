"""``ticketwatch datasets``: fetch public datasets and prepare them as labelled JSONL."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agent.config import get_settings
from agent.datasets.banking77 import ensure_banking77, labelled_records
from agent.datasets.fetch import DatasetUnavailableError
from agent.datasets.records import write_labelled_jsonl
from agent.taxonomy import load_taxonomy

app = typer.Typer(
    name="datasets",
    help="Fetch public datasets and prepare labelled tickets.",
    no_args_is_help=True,
)


class DatasetName(StrEnum):
    banking77 = "banking77"


class SplitName(StrEnum):
    train = "train"
    test = "test"


@app.command()
def fetch(dataset: Annotated[DatasetName, typer.Argument()] = DatasetName.banking77) -> None:
    """Fetch a dataset into the datasets directory if it is not there yet."""
    try:
        root = ensure_banking77()
    except DatasetUnavailableError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{dataset.value}: {root}")


@app.command()
def prepare(
    dataset: Annotated[DatasetName, typer.Argument(help="The dataset to prepare.")],
    split: Annotated[SplitName, typer.Option(help="Which split.")] = SplitName.train,
    out: Annotated[
        Path | None,
        typer.Option(help="Output JSONL. Default: <data_dir>/datasets/<dataset>-<split>.jsonl."),
    ] = None,
    taxonomy: Annotated[
        str, typer.Option(help="Taxonomy name or YAML path that routes the intents.")
    ] = "banking77",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Write a dataset split as labelled JSONL (text, queue, priority, intent)."""
    try:
        tax = load_taxonomy(taxonomy)
        records = labelled_records(split.value, tax)
    except (DatasetUnavailableError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    path = out or get_settings().data_dir / "datasets" / f"{dataset.value}-{split.value}.jsonl"
    write_labelled_jsonl(records, path)
    summary = PrepareSummary(
        path=str(path),
        taxonomy=f"{tax.name} {tax.version}",
        records=len(records),
        queues={q: sum(r.queue == q for r in records) for q in tax.queue_names},
        priorities={p: sum(r.priority == p for r in records) for p in tax.priority_names},
    )
    if as_json:
        typer.echo(json.dumps(asdict(summary), indent=2))
    else:
        _print_summary(summary)


@dataclass(frozen=True, slots=True)
class PrepareSummary:
    """What ``datasets prepare`` wrote: tickets per queue and per priority."""

    path: str
    taxonomy: str
    records: int
    queues: dict[str, int]
    priorities: dict[str, int]


def _print_summary(summary: PrepareSummary) -> None:
    total = max(summary.records, 1)
    table = Table(title=f"{summary.records} tickets → {summary.path} ({summary.taxonomy})")
    table.add_column("queue")
    table.add_column("tickets", justify="right")
    table.add_column("share", justify="right")
    for name, n in summary.queues.items():
        table.add_row(name, str(n), f"{n / total:.1%}")
    console = Console()
    console.print(table)
    shares = ", ".join(f"{p} {n} ({n / total:.1%})" for p, n in summary.priorities.items())
    console.print(f"priorities: {shares}")
