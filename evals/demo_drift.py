"""The demo's drift: a short new-product launch replayed through the real API and monitor.

The replay (``evals.replay``) builds its own scratch database beside the demo's, so the demo's
tickets and versions stay as they were; it is kept until the alert's explanation is read back,
then dropped. The same code runs ``ticketwatch replay`` on the full-size scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from agent.config import Settings
from evals import repository
from evals.bench.harness import drop_database
from evals.replay.environment import ReplayEnv
from evals.replay.kinds.new_product import NewProduct
from evals.replay.monitor_port import ServiceMonitor
from evals.replay.peers import evidently_version
from evals.replay.progress import RichReplayProgress
from evals.replay.report import write_index, write_scenario_report
from evals.replay.runner import COMPOSITE, ReplayResult, run_replay
from evals.replay.scenario import load_scenario
from evals.replay.stream import REFERENCE
from evals.replay.verdicts import MonitorPort

SCENARIO = Path(__file__).with_name("demo_scenario.yaml")


@dataclass(frozen=True)
class DriftOutcome:
    """What the demo prints about the replayed drift."""

    report: Path
    delay_windows: int | None
    false_alarms: int
    peers: dict[str, int | None]
    alert: dict[str, Any] | None
    first_novel: dict[str, Any] | None = None


def replay_drift(settings: Settings, report_dir: Path, console: Console) -> DriftOutcome:
    """Replay the demo scenario; return when and how the monitor caught the launch."""
    scenario = load_scenario(SCENARIO)
    databases: list[str] = []

    def monitor(env: ReplayEnv) -> MonitorPort:
        databases.append(env.database_url)
        return ServiceMonitor(env.settings, window=scenario.clock.window)

    directory = report_dir / scenario.name
    try:
        with RichReplayProgress(console) as progress:
            result = run_replay(
                scenario,
                settings=settings,
                monitor_factory=monitor,
                work_dir=directory,
                progress=progress,
                with_evidently=evidently_version() is not None,
                keep_database=True,
            )
        write_scenario_report(result, directory)
        write_index(report_dir)
        alert = _latest_alert(databases[0]) if databases else None
        first_novel = _first_novel_launch_ticket(databases[0], result) if databases else None
    finally:
        for url in databases:
            drop_database(url)
    composite = result.score_of(COMPOSITE)
    (launch,) = composite.detections
    peers = {
        s.detector: s.detections[0].delay_windows
        for s in result.scores
        if s.detector != COMPOSITE and s.detections
    }
    return DriftOutcome(
        directory / "index.html",
        launch.delay_windows,
        composite.false_alarms,
        peers,
        alert,
        first_novel,
    )


def _first_novel_launch_ticket(url: str, result: ReplayResult) -> dict[str, Any] | None:
    """The first ticket of a launched intent that the novelty gate sent to humans, and when the
    monitor's alert opened: the end of the window that raised it (both on the replay's clock)."""
    launched = {i for p in result.scenario.phases if isinstance(p, NewProduct) for i in p.intents}
    ids = [
        t.external_id
        for t in result.stream.tickets
        if t.intent in launched and t.phase != REFERENCE
    ]
    novel = repository.first_novel_ticket(url, ids)
    if novel is None:
        return None
    detected = [d.detected_window for d in result.score_of(COMPOSITE).detections]
    ends = [w.end for w in result.stream.windows if w.index in detected]
    return {**novel, "alert_opened_at": min(ends) if ends else None}


def _latest_alert(url: str) -> dict[str, Any] | None:
    return repository.latest_alert(url)


def print_outcome(outcome: DriftOutcome, console: Console) -> None:
    """The launch, as an operator would read it."""
    if outcome.delay_windows is None:
        console.print("[red]the monitor did not catch the launch in this run[/]")
    else:
        console.print(
            f"[bold green]caught[/]: an alert was open after {outcome.delay_windows} window(s) "
            f"of the launch (1 = the onset window itself); "
            f"false alarms before it: {outcome.false_alarms}"
        )
    _print_first_novel(outcome.first_novel, console)
    for name, delay in outcome.peers.items():
        console.print(f"  {name}: {'missed' if delay is None else f'{delay} window(s)'}")
    alert = outcome.alert
    if alert:
        explanation = alert.get("explanation") or {}
        console.print(f"alert ({alert['severity']}): {explanation.get('summary')}", markup=False)
        for cluster in (explanation.get("clusters") or [])[:2]:
            example = (cluster.get("examples") or [""])[0]
            console.print(
                f"  cluster of {cluster['size']}: {', '.join(cluster['top_terms'][:5])}; "
                f"routed to {cluster['predicted_queue']}; e.g. {example!r}",
                markup=False,
            )


def _print_first_novel(novel: dict[str, Any] | None, console: Console) -> None:
    """Per ticket, before any window closes: the novelty gate's escalation of the launch."""
    if novel is None:
        console.print("[yellow]no ticket of the launch was sent to humans as novel[/]")
        return
    alert_at = novel.get("alert_opened_at")
    when = f"{novel['received_at']:%H:%M}"
    before = (
        f"{(alert_at - novel['received_at']).total_seconds() / 60:.0f} min before the alert opened"
        if alert_at is not None and alert_at > novel["received_at"]
        else ("after the alert opened" if alert_at is not None else "no alert opened")
    )
    console.print(
        f"[bold green]per ticket[/]: the first launch ticket went to humans as [bold]novel[/] at "
        f"{when} on the replay clock, {before}:"
    )
    console.print(f"  {novel['body']!r}: {novel['reason']}", markup=False)
