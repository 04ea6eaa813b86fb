"""``ticketwatch quickstart``: from a helpdesk export to a promoted, evaluated version.

A thin orchestration of the services the single commands use: ``taxonomy init``
(:mod:`agent.taxonomies.draft`), ``eval build-golden`` (:mod:`evals.golden.store`),
``load-history`` (:mod:`agent.services.history_loader`), ``versions create --promote``
(:mod:`agent.services.calibration`, :mod:`agent.services.versions`), ``eval run``
(:mod:`evals.service`) and ``tenants add`` (:mod:`agent.services.tenants`).

The export is read and checked whole before anything is written. Its rows go either to the
golden set (a seeded share of each queue) or to history, never both. Each step records its
completion in ``OUT/quickstart.json`` with the export's SHA-256, so a rerun skips what is done;
a changed export is an error unless the state is restarted. Nothing secret is stored there.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent import migrate
from agent.classify.abstention import RoutingTarget
from agent.classify.novelty import DEFAULT_ALPHA
from agent.commands.common import cli_session
from agent.config import Settings
from agent.datasets.mapping import ExportFormat
from agent.datasets.records import LabelledTicket, read_labelled_file
from agent.embed import get_bulk_embedding, get_embedder
from agent.embedded import resolve_database_url
from agent.routing import DEFAULT_MIN_CONFIDENCE
from agent.services.calibration import calibrate_version
from agent.services.history_loader import load_history
from agent.services.operators import Actor, move_label
from agent.services.tenants import create_tenant
from agent.services.versions import create_version
from agent.taxonomies.draft import DraftOptions, draft_taxonomy, read_draft_tickets, write_taxonomy
from agent.taxonomy import Taxonomy, load_taxonomy
from evals.golden.cases import from_labelled
from evals.golden.store import build_golden_set
from evals.service import evaluate

STATE_FILE = "quickstart.json"
STEPS = ("taxonomy", "golden", "history", "version", "eval", "tenant")
Say = Callable[[str], None]


class QuickstartError(ValueError):
    """A quickstart that cannot go on as asked (a changed export, an option that does not
    fit the state); the message says what to do."""


@dataclass(frozen=True)
class QuickstartOptions:
    path: Path
    out: Path
    export: ExportFormat | None = None
    taxonomy: Path | None = None
    golden_share: float = 0.1
    version: str = "1.0.0"
    seed: int = 0
    tenant: str | None = None
    target_accuracy: float | None = None
    eval_k: int = 1
    restart: bool = False

    @property
    def name(self) -> str:
        return re.sub(r"[^a-z0-9._-]+", "-", self.path.stem.lower()).strip("-._") or "helpdesk"


@dataclass
class QuickstartResult:
    """What a run did; ``api_key`` is set only by the run that created the tenant (it is
    printed once and stored nowhere)."""

    state: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    api_key: str | None = None


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_state(options: QuickstartOptions, digest: str) -> dict[str, Any]:
    """The recorded state for this export (a fresh one when there is none or on restart)."""
    path = options.out / STATE_FILE
    fresh = {"input": {"file": str(options.path), "sha256": digest}, "steps": {}}
    if options.restart or not path.is_file():
        return fresh
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    recorded = state.get("input", {}).get("sha256")
    if recorded != digest:
        raise QuickstartError(
            f"{path} records another export (sha256 {str(recorded)[:12]}, this one "
            f"{digest[:12]}): use another --out, or pass --restart to start over with this "
            "file (a new --version too, since versions are immutable)"
        )
    return state


def write_state(out: Path, state: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{STATE_FILE}.part"
    tmp.write_text(json.dumps(state, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(out / STATE_FILE)


def split_golden(
    records: Sequence[LabelledTicket], *, share: float, seed: int
) -> tuple[list[int], list[int]]:
    """(golden, history) row indices: a seeded ``share`` of each queue to golden (at least
    one of a queue with three or more rows), the rest to history (at least one per queue);
    both in file order."""
    by_queue: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_queue[r.queue].append(i)
    rng = random.Random(seed)
    golden: list[int] = []
    for queue in sorted(by_queue):
        rows = by_queue[queue]
        n = min(len(rows) - 1, round(share * len(rows)))
        if n == 0 and len(rows) >= 3 and share > 0:
            n = 1
        golden += rng.sample(rows, n)
    chosen = set(golden)
    return sorted(golden), [i for i in range(len(records)) if i not in chosen]


@dataclass
class _Run:
    options: QuickstartOptions
    settings: Settings
    actor: Actor
    say: Say
    progress: Callable[[str, int], Callable[[int], None]]
    state: dict[str, Any]
    result: QuickstartResult

    @property
    def url(self) -> str:
        return resolve_database_url(self.settings)

    def done(self, step: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.state["steps"].get(step)
        return found

    def record(self, step: str, summary: dict[str, Any]) -> None:
        self.state["steps"][step] = {"done_at": datetime.now(UTC).isoformat(), **summary}
        write_state(self.options.out, self.state)


def run_quickstart(
    settings: Settings,
    options: QuickstartOptions,
    *,
    actor: Actor,
    say: Say,
    progress: Callable[[str, int], Callable[[int], None]],
) -> QuickstartResult:
    """Run every step not yet done (see the module docstring). Raises ``QuickstartError``,
    ``LabelledFileError`` (the export, with file and line), ``OperatorError``."""
    if not 0 < options.golden_share < 0.5:
        raise QuickstartError("--golden-share must be above 0 and below 0.5")
    digest = file_sha256(options.path)
    state = read_state(options, digest)
    run = _Run(options, settings, actor, say, progress, state, QuickstartResult(state))
    notes = migrate.upgrade(run.url)
    say(f"database schema up to date{''.join(f'; {n}' for n in notes)}")
    taxonomy, records = _taxonomy_and_records(run)
    golden, history = split_golden(records, share=options.golden_share, seed=options.seed)
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("golden", lambda: _golden(run, taxonomy, [records[i] for i in golden])),
        ("history", lambda: _history(run, [records[i] for i in history])),
        ("version", lambda: _version(run, taxonomy)),
        ("eval", lambda: _eval(run)),
        ("tenant", lambda: _tenant(run)),
    ]
    for step, body in steps:
        earlier = run.done(step)
        if earlier is not None:
            say(f"{step}: done already ({earlier['what']}), skipped")
            run.result.skipped.append(step)
            continue
        summary = body()
        run.record(step, summary)
        say(f"{step}: {summary['what']}")
    return run.result


def _taxonomy_and_records(run: _Run) -> tuple[Taxonomy, list[LabelledTicket]]:
    """The taxonomy (given, recorded, or drafted) and the export read through it. A drafted
    taxonomy is written only once the whole export has been read through it."""
    options, path = run.options, run.options.out / "taxonomy.yaml"
    earlier = run.done("taxonomy")
    if earlier is not None:
        if options.taxonomy is not None and str(options.taxonomy) != earlier["path"]:
            raise QuickstartError(
                f"this quickstart's taxonomy is {earlier['path']}, not {options.taxonomy}: "
                "leave --taxonomy out, or pass --restart (with a new --version)"
            )
        taxonomy = load_taxonomy(earlier["path"])
        run.say(f"taxonomy: done already ({earlier['what']}), skipped")
        run.result.skipped.append("taxonomy")
        return taxonomy, _read(run, taxonomy)
    if options.taxonomy is not None:
        taxonomy = load_taxonomy(str(options.taxonomy))
        records = _read(run, taxonomy)
        what = f"{taxonomy.name} {taxonomy.version} given ({options.taxonomy})"
        run.record("taxonomy", {"what": what, "path": str(options.taxonomy), "advice": []})
        run.say(f"taxonomy: {what}")
        return taxonomy, records
    tickets, notes = read_draft_tickets(options.path, options.export)
    for note in notes:
        run.say(f"note: {note}")
    draft = draft_taxonomy(
        tickets,
        embedder=get_embedder(run.settings),
        options=DraftOptions(name=options.name, seed=options.seed),
        progress=run.progress("embedding tickets for the taxonomy draft", len(tickets)),
    )
    records = _read(run, draft.taxonomy)
    dflt = DraftOptions(name=options.name)
    advice = draft.advice(min_examples=dflt.min_examples, threshold=dflt.confusion_threshold)
    header = [
        f"Drafted by `ticketwatch quickstart {options.path.name}`: review it before production.",
        *(f"advice: {a}" for a in advice),
    ]
    write_taxonomy(draft.taxonomy, path, header=header)
    load_taxonomy(str(path))  # the file loads as written
    what = (
        f"drafted {draft.taxonomy.name} {draft.taxonomy.version}: "
        f"{len(draft.taxonomy.queues)} queues from {len(tickets)} tickets -> {path}"
    )
    run.record("taxonomy", {"what": what, "path": str(path), "advice": advice})
    run.say(f"taxonomy: {what}")
    for line in advice:
        run.say(f"advice: {line}")
    return draft.taxonomy, records


def _read(run: _Run, taxonomy: Taxonomy) -> list[LabelledTicket]:
    records = read_labelled_file(run.options.path, taxonomy=taxonomy, export=run.options.export)
    run.say(f"read {len(records):,} tickets from {run.options.path}")
    return records


def _session(run: _Run, *, notify_control: bool = False) -> Any:
    """One committed unit of work on the quickstart's database (see ``cli_session``)."""
    return cli_session(
        settings=run.settings,
        notify_control=notify_control,
        application_name="ticketwatch-quickstart",
    )


def _golden(run: _Run, taxonomy: Taxonomy, rows: list[LabelledTicket]) -> dict[str, Any]:
    cases = [from_labelled(r) for r in rows]

    async def body() -> dict[str, Any]:
        async with _session(run) as session:
            built = await build_golden_set(
                session,
                data_dir=run.settings.data_dir,
                name=run.options.name,
                version=run.options.version,
                cases=cases,
                taxonomy=taxonomy,
                source=f"{run.options.path} ({run.options.golden_share:g} of each queue, "
                f"seed {run.options.seed})",
                created_by=run.actor.name,
            )
            return {"name": built.row.name, "version": built.row.version}

    ref = asyncio.run(body())
    return {
        **ref,
        "ref": f"{ref['name']}@{ref['version']}",
        "n_cases": len(cases),
        "what": f"golden set {ref['name']}@{ref['version']}: {len(cases)} cases "
        f"({run.options.golden_share:.0%} of each queue), kept out of history",
    }


def _history(run: _Run, rows: list[LabelledTicket]) -> dict[str, Any]:
    source = f"quickstart:{run.options.name}:{run.state['input']['sha256'][:12]}"
    bulk = get_bulk_embedding(run.settings)
    report = load_history(
        run.url,
        rows,
        source=source,
        embedder=bulk.embedder,
        workers=bulk.workers,
        progress=run.progress("loading history", len(rows)),
    )
    return {
        "source": source,
        "tickets": len(rows),
        "what": f"{report.inserted} tickets loaded as history (source {source}), "
        f"{report.skipped} already present, {report.seconds:.1f}s",
    }


def _version(run: _Run, taxonomy: Taxonomy) -> dict[str, Any]:
    target = RoutingTarget(run.options.target_accuracy, None, None)
    fitted = calibrate_version(run.url, taxonomy, target=target, alpha=DEFAULT_ALPHA)
    for warning in fitted.warnings:
        run.say(f"warning: {warning}")
    semver = run.options.version

    async def body() -> None:
        # Serving processes reload their labels (as `versions promote` tells them).
        async with _session(run, notify_control=True) as session:
            await create_version(
                session,
                semver=semver,
                classifier="knn",
                taxonomy=taxonomy,
                actor=run.actor,
                params=fitted.params.to_params(),
                thresholds=fitted.thresholds(DEFAULT_MIN_CONFIDENCE),
                embedding_model=run.settings.embedding_model,
                rationale=f"ticketwatch quickstart {run.options.path.name}",
            )
            await move_label(
                session,
                label="production",
                semver=semver,
                actor=run.actor,
                action="version.promote",
            )

    asyncio.run(body())
    gate = fitted.abstention.gate
    selective = fitted.abstention.selective
    knn = fitted.knn
    return {
        "semver": semver,
        "calibration_tickets": fitted.n,
        "knn_accuracy": knn.accuracy_queue if knn is not None else None,
        "novelty_gate": f"{gate.score}, alpha {gate.alpha:g}, {gate.n} tickets",
        "threshold": selective.describe() if selective is not None else None,
        "warnings": list(fitted.warnings),
        "what": f"version {semver} (knn) calibrated on held-out history and promoted to "
        f"production; novelty gate {gate.score} alpha {gate.alpha:g}",
    }


def _eval(run: _Run) -> dict[str, Any]:
    golden = run.state["steps"]["golden"]["ref"]
    scored = asyncio.run(
        evaluate(
            run.settings,
            version_ref=run.options.version,
            golden_ref=golden,
            k=run.options.eval_k,
            created_by=run.actor.name,
            reuse=True,
        )
    )
    m = scored.run.metrics
    figures = {
        "n_cases": scored.golden.n_cases,
        "queue_accuracy": m["queue"]["accuracy"],
        "routed_queue_accuracy": m["queue"]["routed_accuracy"],
        "coverage": m["coverage"],
        "queue_ece": m["queue"]["ece"],
        "priority_accuracy": m["priority"]["accuracy"],
    }
    report = {"run_id": str(scored.run.id), "version": run.options.version, "golden": golden}
    path = run.options.out / "eval.json"
    path.write_text(
        json.dumps({**report, "metrics": m}, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return {
        **report,
        "figures": figures,
        "path": str(path),
        "what": f"eval run {scored.run.id} of {run.options.version} on {golden}: queue accuracy "
        f"{figures['queue_accuracy']:.1%}, {figures['coverage']:.1%} routed by the agent, "
        f"ECE {figures['queue_ece']:.3f} -> {path}",
    }


def _tenant(run: _Run) -> dict[str, Any]:
    name = run.options.tenant or run.options.name

    async def body() -> tuple[str, str]:
        async with _session(run) as session:
            tenant, key = await create_tenant(session, name=name, actor=run.actor)
            return tenant.api_key_prefix, key

    prefix, key = asyncio.run(body())
    run.result.api_key = key
    return {
        "name": name,
        "key_prefix": prefix,
        "what": f"tenant {name} created with an API key ({prefix}…)",
    }


def serve_commands() -> list[str]:
    """What to run next: the API, the monitor's worker and its beat."""
    return ["ticketwatch serve", "ticketwatch worker", "ticketwatch beat"]
