"""``ticketwatch versions show | diff | export | import``: a version's whole content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from agent.commands.common import cli_actor, cli_session, console, run
from agent.services import version_transfer
from agent.version_context import flatten


def show(
    semver: str,
    as_json: Annotated[bool, typer.Option("--json", help="The export document, as JSON.")] = False,
) -> None:
    """Everything the version runs with: models, prompt, params, thresholds, taxonomy, hash."""
    doc = run(lambda: _document(semver))
    if as_json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]version {doc['semver']}[/]  hash {doc['content_hash']}")
    console.print(f"by {doc['author']} at {doc['created_at'][:19]}: {doc['rationale'] or '-'}")
    content = dict(doc["content"])
    prompt = content.pop("prompt")
    for key, value in flatten(content).items():
        console.print(f"{key}: {json.dumps(value, ensure_ascii=False)}", highlight=False)
    tax = doc["taxonomy"]
    queues = ", ".join(q["name"] for q in tax["queues"])
    console.print(f"taxonomy: {tax['name']}@{tax['version']} ({queues})", highlight=False)
    if prompt is not None:
        console.print("prompt:", highlight=False)
        typer.echo(_indent(yaml.safe_dump(prompt, sort_keys=False, allow_unicode=True)))


def diff(old: str, new: str) -> None:
    """What differs between two versions, key by key (exit 1 when something does)."""

    async def body() -> list[str]:
        async with cli_session() as session:
            found = await version_transfer.diff_versions(session, old, new)
        return [line for d in found for line in d.lines()]

    lines = run(body)
    if not lines:
        console.print(f"{old} and {new} have the same content")
        return
    for line in lines:
        typer.echo(line)
    raise typer.Exit(1)


def export(
    semver: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write the version (content, taxonomy, hash) as JSON, for `versions import` elsewhere."""
    text = json.dumps(run(lambda: _document(semver)), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text)
    console.print(f"version {semver} written to {output}")


def import_(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An export file.")],
) -> None:
    """Store an exported version here, with the same hash (refused if it does not match)."""
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        console.print(f"[red]error:[/] {path} is not JSON: {exc}")
        raise typer.Exit(1) from exc

    async def body() -> tuple[str, bool]:
        async with cli_session() as session:
            version, created = await version_transfer.import_version(
                session, document, actor=cli_actor()
            )
            return version.semver, created

    semver, created = run(body)
    console.print(
        f"version {semver} imported" if created else f"version {semver} is here already, same hash"
    )


async def _document(semver: str) -> dict[str, Any]:
    async with cli_session() as session:
        return await version_transfer.version_document(session, semver)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
