"""``ticketwatch replay FILE... [--report DIR]``: drift scenarios through the real system.

Exit codes: 0 done; 1 with ``--strict`` when the composite missed a drift phase, caught it
later than ``--max-delay`` windows, or raised a false alarm; 2 a scenario or setup error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from agent.config import Settings, get_settings
from agent.datasets.fetch import DatasetUnavailableError
from agent.datasets.records import LabelledFileError
from evals.replay.kinds import kinds_help
from evals.replay.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from evals.replay.environment import ReplayEnv
    from evals.replay.runner import MonitorFactory
    from evals.replay.verdicts import MonitorPort

console = Console(stderr=True)


def _monitor_factory(scenario: Scenario) -> MonitorFactory:
    from evals.replay.monitor_port import ServiceMonitor

    def factory(env: ReplayEnv) -> MonitorPort:
        return ServiceMonitor(env.settings, window=scenario.clock.window)

    return factory


def _error(text: str) -> None:
    # markup off: messages quote lists like ['an_intent'], which Rich would read as tags
    console.print(text, style="red", markup=False, soft_wrap=True)


def failures(summary: dict[str, object], *, max_delay: int) -> list[str]:
    """Why a scenario's composite result fails ``--strict`` (empty: it passes)."""
    out = []
    for s in summary["scores"]:  # type: ignore[attr-defined]
        if s["detector"] != "composite":
            continue
        if s["false_alarms"]:
            out.append(f"{summary['scenario']}: {s['false_alarms']} false alarm(s)")
        for d in s["detections"]:
            if d["delay_windows"] is None:
                out.append(f"{summary['scenario']}: {d['phase']} missed")
            elif d["delay_windows"] > max_delay:
                out.append(
                    f"{summary['scenario']}: {d['phase']} after {d['delay_windows']} windows"
                )
    return out


def replay_one(
    scenario: Scenario,
    settings: Settings,
    report: Path,
    *,
    quiet: bool,
    evidently: bool,
    concurrency: int,
    keep_database: bool,
) -> dict[str, object]:
    from evals.replay.progress import RichReplayProgress
    from evals.replay.report import write_index, write_scenario_report
    from evals.replay.runner import run_replay

    directory = report / scenario.name
    with RichReplayProgress(console, enabled=not quiet) as progress:
        progress.stage(f"replaying {scenario.name}: {scenario.description}".strip())
        result = run_replay(
            scenario,
            settings=settings,
            monitor_factory=_monitor_factory(scenario),
            work_dir=directory,
            progress=progress,
            with_evidently=evidently,
            concurrency=concurrency,
            keep_database=keep_database,
        )
    data = write_scenario_report(result, directory)
    write_index(report)
    return data


def replay(
    files: Annotated[
        list[Path],
        typer.Argument(help=f"Scenario YAML file(s). Phase kinds: {kinds_help()}.", exists=False),
    ],
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Report directory (default: <data_dir>/replays)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override each scenario's seed.")] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit 1 if the composite misses, is late or false-alarms.")
    ] = False,
    max_delay: Annotated[int, typer.Option(min=1, help="Windows allowed with --strict.")] = 2,
    evidently: Annotated[bool, typer.Option(help="Run Evidently's default check beside.")] = True,
    concurrency: Annotated[int, typer.Option(min=1, help="Tickets in flight to the API.")] = 8,
    keep_database: Annotated[
        bool, typer.Option(help="Keep each scenario's scratch database for inspection.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Replay drift scenarios through the real API and monitor; write the HTML/PNG report."""
    settings = get_settings()
    try:
        scenarios = [load_scenario(f) for f in files]
    except ScenarioError as exc:
        _error(str(exc))
        raise typer.Exit(2) from exc
    if seed is not None:
        scenarios = [s.model_copy(update={"seed": seed}) for s in scenarios]
    if evidently:
        from evals.replay.peers import evidently_version

        if evidently_version() is None:
            console.print(
                "Evidently is not installed: judging without it "
                "(pip install 'ticketwatch[peers]' to compare with it).",
                style="yellow",
                markup=False,
            )
            evidently = False
    out = (report or settings.data_dir / "replays").resolve()
    results = []
    for scenario in scenarios:
        try:
            results.append(
                replay_one(
                    scenario,
                    settings,
                    out,
                    quiet=as_json,
                    evidently=evidently,
                    concurrency=concurrency,
                    keep_database=keep_database,
                )
            )
        except (ScenarioError, LabelledFileError, DatasetUnavailableError) as exc:
            _error(str(exc))
            raise typer.Exit(2) from exc
    from evals.replay.report import markdown_table

    if as_json:
        typer.echo(
            json.dumps(
                [{k: v for k, v in r.items() if k != "windows"} for r in results],
                indent=1,
                default=str,
            )
        )
    else:
        typer.echo(markdown_table(results))
        console.print(f"report: {out / 'index.html'}")
    problems = [p for r in results for p in failures(r, max_delay=max_delay)]
    for p in problems:
        _error(p)
    if strict and problems:
        raise typer.Exit(1)
