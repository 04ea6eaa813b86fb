"""``ticketwatch load-history`` and ``ticketwatch versions create``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agent.classify.abstention import RoutingTarget
from agent.classify.base import Classifier
from agent.classify.knn import KnnParams
from agent.classify.novelty import DEFAULT_ALPHA
from agent.classify.registry import UnknownClassifierError, all_kinds, get_kind, kinds_help
from agent.commands.common import cli_actor, cli_session, console, run
from agent.commands.export_opts import (
    MapOpt,
    PresetOpt,
    PriorityMapOpt,
    ProgressLines,
    TimezoneOpt,
    export_from_options,
)
from agent.config import Settings, get_settings
from agent.datasets.records import LabelledFileError, read_labelled_file
from agent.embed import get_bulk_embedding
from agent.embedded import resolve_database_url
from agent.routing import DEFAULT_MIN_CONFIDENCE
from agent.services.calibration import VersionCalibration, calibrate_version
from agent.services.history_loader import load_history
from agent.services.versions import create_version
from agent.taxonomy import Taxonomy, load_taxonomy
from agent.version_context import resolve_params, resolve_prompt

TaxonomyOpt = Annotated[str, typer.Option(help="Taxonomy name (packaged) or YAML path.")]


def _registered_kind(name: str) -> str:
    try:
        get_kind(name)
    except UnknownClassifierError as exc:
        raise typer.BadParameter(str(exc)) from None
    return name


# The classifier kinds, from their registry (agent/classify/kinds): one module per kind.
ClassifierOpt = Annotated[
    str, typer.Option(callback=_registered_kind, help=f"The kind: {kinds_help()}.")
]
MODEL_KINDS = ", ".join(k.name for k in all_kinds().values() if k.model_backed)


class HistoryScope(StrEnum):
    """A version's ``params.history_scope`` (agent/version_context.py)."""

    shared = "shared"
    tenant = "tenant"


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
    column_map: MapOpt = None,
    preset: PresetOpt = None,
    priority_map: PriorityMapOpt = None,
    timezone: TimezoneOpt = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Chunks embedded at once (default: TICKETWATCH_LOAD_WORKERS, else cores, <= 8).",
        ),
    ] = None,
) -> None:
    """Load labelled historical tickets, with embeddings, as outcomes the agent learns from.
    Resumable: run it again after an interruption and it continues. A helpdesk's CSV export
    is read through --preset or --map (docs/own-data.md)."""
    tax = load_taxonomy(taxonomy)
    export = export_from_options(column_map, preset, priority_map, timezone)
    try:
        records = read_labelled_file(path, taxonomy=tax, export=export)
    except LabelledFileError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    settings = get_settings()
    bulk = get_bulk_embedding(settings)
    workers = workers or bulk.workers
    with _progress_callback(len(records)) as advance:
        report = load_history(
            resolve_database_url(settings),
            records,
            source=source or f"history:{path.stem}",
            embedder=bulk.embedder,
            workers=workers,
            progress=advance,
            actor=(cli_actor().name, cli_actor().role),
        )
    console.print(
        f"{report.inserted} loaded, {report.skipped} already present, "
        f"{report.seconds:.1f}s, {workers} embedding workers"
        + (" (indexes rebuilt)" if report.indexes_rebuilt else "")
    )


@contextmanager
def _progress_callback(total: int) -> Iterator[Callable[[int], None]]:
    """A bar on a terminal; elsewhere (a log, CI, a pipe) a plain line every few seconds."""
    if not console.is_terminal:
        yield ProgressLines("loading history", total)
        return
    with Progress(
        TextColumn("loading history"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("load", total=total)
        yield lambda n: bar.advance(task, n)


def create_version_command(
    semver: Annotated[str, typer.Argument(help="Semantic version, e.g. 1.0.0")],
    classifier: ClassifierOpt = "knn",
    taxonomy: TaxonomyOpt = "banking77",
    model: Annotated[str | None, typer.Option(help=f"LiteLLM model string ({MODEL_KINDS})")] = None,
    fallback_model: Annotated[str | None, typer.Option()] = None,
    prompt: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help=f"Prompt file (YAML: system, user, few_shot; docs/versions.md) for {MODEL_KINDS}."
            " Unset: the built-in prompt.",
        ),
    ] = None,
    llm: Annotated[
        list[str] | None,
        typer.Option(
            "--llm",
            help="An LLM parameter stored in the version, KEY=VALUE (repeatable), e.g. "
            "response_format=json_object_with_schema, system_role=false, samples_k=3 "
            "(docs/versions.md lists them).",
        ),
    ] = None,
    embedding_model: Annotated[
        str | None,
        typer.Option(help="Embedding model pinned in the version (default: the deployment's)."),
    ] = None,
    min_confidence: Annotated[
        float | None,
        typer.Option(min=0, max=1, help="Manual confidence threshold (default 0.5, no target)."),
    ] = None,
    target_accuracy: Annotated[
        float | None,
        typer.Option(
            min=0.5, max=0.999, help="Fit the threshold: auto-routed accuracy >= this (95% conf.)."
        ),
    ] = None,
    target_escalation: Annotated[
        float | None,
        typer.Option(min=0.001, max=0.999, help="Fit the threshold: this share to humans."),
    ] = None,
    alpha: Annotated[
        float, typer.Option(min=0.001, max=0.5, help="Novelty gate: in-scope escalation rate.")
    ] = DEFAULT_ALPHA,
    novel_to_model: Annotated[
        bool, typer.Option(help=f"Let {MODEL_KINDS} classify tickets the novelty gate flags.")
    ] = False,
    calibrate: Annotated[bool, typer.Option(help="Fit the knn on held-out history.")] = True,
    k: Annotated[int, typer.Option(min=1, max=100)] = 15,
    history_scope: Annotated[
        HistoryScope,
        typer.Option(
            help="Whose outcomes it retrieves (and shows the LLM as examples): shared, the "
            "whole pool; tenant, only the ticket's own tenant's (docs/versions.md)."
        ),
    ] = HistoryScope.shared,
    rationale: Annotated[str, typer.Option(help="Why this version exists.")] = "",
    promote: Annotated[bool, typer.Option(help="Label it production right away.")] = False,
) -> None:
    """Create an immutable agent version (the whole execution context), with its novelty gate
    and confidence threshold fitted on held-out history."""
    tax = load_taxonomy(taxonomy)
    prompt_text = _prompt_text(prompt, classifier)
    llm_params = _llm_params(llm or [])
    try:
        target = RoutingTarget(target_accuracy, target_escalation, min_confidence)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    params = KnnParams(k=k).to_params()
    thresholds: dict[str, Any] = {"min_confidence": min_confidence or DEFAULT_MIN_CONFIDENCE}
    if calibrate:
        fitted = _calibrate(
            tax,
            target,
            k=k,
            alpha=alpha,
            classifier=classifier,
            model=model,
            prompt=prompt_text,
            llm=llm_params,
            history_scope=history_scope.value,
        )
        params = fitted.params.to_params()
        thresholds = fitted.thresholds(min_confidence or DEFAULT_MIN_CONFIDENCE)
    params["history_scope"] = history_scope.value
    if novel_to_model:
        params["novel_to_model"] = True
    if llm_params:
        params["llm"] = llm_params

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
                thresholds=thresholds,
                model=model,
                fallback_model=fallback_model,
                prompt_template=prompt_text,
                embedding_model=embedding_model or get_settings().embedding_model,
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


def _llm_params(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs, each value read as a YAML scalar (``false``, ``3``, ``0.2``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--llm {pair!r}: write KEY=VALUE")
        out[key.strip()] = yaml.safe_load(value) if value else None
    return out


def _prompt_text(path: Path | None, classifier: str) -> str:
    """The prompt file's text, checked now (a bad file fails before any fitting)."""
    if path is None:
        return ""
    text = path.read_text()
    try:
        resolve_prompt(get_kind(classifier), text)
    except ValueError as exc:
        console.print(f"[red]error:[/] {path}: {exc}")
        raise typer.Exit(2) from exc
    return text


def _calibrate(
    tax: Taxonomy,
    target: RoutingTarget,
    *,
    k: int,
    alpha: float,
    classifier: str,
    model: str | None,
    prompt: str = "",
    llm: dict[str, Any] | None = None,
    history_scope: str = "shared",
) -> VersionCalibration:
    """Fit on held-out history and print what was fitted, and what is missing."""
    settings = get_settings()
    model_classifier = None
    if target.fitted and get_kind(classifier).model_backed and model:
        model_classifier = candidate_classifier(
            settings, classifier, model, k, tax, prompt=prompt, llm=llm
        )
    with console.status("fitting the knn vote, the novelty gate and the threshold on history…"):
        fitted = calibrate_version(
            resolve_database_url(settings),
            tax,
            target=target,
            k=k,
            alpha=alpha,
            classifier=model_classifier,
            history_scope=history_scope,
        )
    report = fitted.knn
    if report is not None:
        console.print(
            f"knn calibrated on {report.n} held-out tickets: queue accuracy "
            f"{report.accuracy_queue:.3f}, NLL {report.nll_queue:.3f}; tau "
            f"{report.params.tau}, T {report.params.temperature_queue:.2f}"
        )
    gate = fitted.abstention.gate
    console.print(
        f"novelty gate: {gate.score} score, alpha {gate.alpha:g}, {gate.n} calibration tickets"
        + ("" if gate.calibrated else " [yellow](uncalibrated)[/]")
    )
    if fitted.abstention.selective is not None:
        console.print(f"confidence threshold: {fitted.abstention.selective.describe()}")
    for warning in fitted.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    return fitted


def candidate_classifier(
    settings: Settings,
    classifier: str,
    model: str,
    k: int,
    tax: Taxonomy,
    *,
    prompt: str = "",
    llm: dict[str, Any] | None = None,
) -> Classifier:
    """The model-backed classifier a new version would serve (to fit its threshold)."""
    from agent.classify.knn import KnnClassifier
    from agent.graph.state import ResolvedVersion

    version = ResolvedVersion(
        id="candidate",
        semver="0.0.0",
        label="candidate",
        classifier=classifier,
        model=model,
        fallback_model=None,
        prompt_template=resolve_prompt(get_kind(classifier), prompt),
        params=resolve_params(get_kind(classifier), {"k": k, "llm": llm or {}}),
        thresholds={},
        taxonomy=tax,
    )
    return version.kind.build(version, knn=KnnClassifier(KnnParams(k=k)), settings=settings)
