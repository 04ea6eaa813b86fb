"""Commands that ``evals`` adds to the ``ticketwatch`` CLI: bench, eval, replay, demo."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

bench_app = typer.Typer(
    help="Benchmarks: print their figures; ratios against in-run baselines.", no_args_is_help=True
)
console = Console(stderr=True)


@bench_app.command("routing")
def bench_routing(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    n: Annotated[int, typer.Option(min=10, help="Tickets for the throughput run.")] = 2000,
    concurrency: Annotated[int, typer.Option(min=1)] = 32,
    stub_ms: Annotated[float, typer.Option(help="Model stub latency (ms).")] = 200.0,
    stub_n: Annotated[int, typer.Option(min=20)] = 400,
    stub_concurrency: Annotated[
        int, typer.Option(min=1, help="Concurrency of the overhead runs (below CPU saturation).")
    ] = 4,
    history: Annotated[int, typer.Option(min=100, help="History tickets loaded.")] = 3000,
    workers: Annotated[int, typer.Option(min=1, help="API processes.")] = 1,
    rounds: Annotated[
        int, typer.Option(min=1, help="Alternating agent/bare rounds of the overhead run.")
    ] = 4,
) -> None:
    """Drive tickets through the real HTTP API: throughput, latency, overhead over the model."""
    from evals.bench.routing import run

    console.print("setting up a scratch database with history; this takes a minute…")
    result = run(
        n=n,
        concurrency=concurrency,
        stub_ms=stub_ms,
        stub_n=stub_n,
        stub_concurrency=stub_concurrency,
        history=history,
        workers=workers,
        rounds=rounds,
    )
    typer.echo(json.dumps(result, indent=None if as_json else 2))


@bench_app.command("shadow")
def bench_shadow(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    n: Annotated[int, typer.Option(min=20, help="Tickets, shadow off and on together.")] = 400,
    concurrency: Annotated[int, typer.Option(min=1)] = 4,
    history: Annotated[int, typer.Option(min=100, help="History tickets loaded.")] = 1000,
    rounds: Annotated[int, typer.Option(min=1, help="Off/on round pairs.")] = 4,
    worker: Annotated[
        bool, typer.Option(help="Run the worker (--no-worker: the API side's cost alone).")
    ] = True,
    split_cpus: Annotated[
        bool,
        typer.Option(
            help="Pin the API and the client to half the CPUs, the worker to the other half."
        ),
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Tickets per second, open loop (default: --concurrency in flight, closed loop).",
        ),
    ] = None,
) -> None:
    """Production's latency with a shadow at 100% over without (API and worker, real)."""
    from evals.bench.shadow import run

    console.print("setting up a scratch database with history; this takes a minute…")
    try:
        result = run(
            n=n,
            concurrency=concurrency,
            history=history,
            rounds=rounds,
            worker=worker,
            split_cpus=split_cpus,
            rate=rate,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--split-cpus") from exc
    typer.echo(json.dumps(result, indent=None if as_json else 2))


@bench_app.command("embed")
def bench_embed(
    n: Annotated[int, typer.Option(min=8, help="Texts per timed round.")] = 256,
    batch: Annotated[int, typer.Option(min=1)] = 32,
    threads: Annotated[int | None, typer.Option(help="Default: the setting.")] = None,
    rounds: Annotated[int, typer.Option(min=1)] = 3,
) -> None:
    """Local embedder throughput (and sentence-transformers' in the same run, if installed)."""
    from evals.bench.embed import run

    typer.echo(json.dumps(run(n, batch, threads=threads, rounds=rounds), indent=2))


@bench_app.command("load")
def bench_load(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    n: Annotated[int, typer.Option(min=10, help="Short tickets (Banking77 train).")] = 4000,
    n_long: Annotated[int, typer.Option(min=10, help="Long tickets (generated).")] = 2000,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds; each figure is the best.")] = 1,
    chunk: Annotated[int, typer.Option(min=1, help="Tickets per chunk, as the loader.")] = 512,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Embedding workers (default: as load-history).")
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="Also time the old path: one chunk after the other.")
    ] = True,
    strict: Annotated[bool, typer.Option(help="Exit 1 when a target is missed.")] = False,
) -> None:
    """load-history's tickets/s for short and long tickets, against its embedder alone and
    the old single-core path, in the same run."""
    from evals.bench.load import run, summary

    result = run(
        n_short=n,
        n_long=n_long,
        rounds=rounds,
        chunk=chunk,
        workers=workers,
        baseline=baseline,
        progress=lambda line: console.print(line, highlight=False),
    )
    typer.echo(json.dumps(result) if as_json else summary(result))
    missed = [name for name, ok in result["targets"].items() if not ok]
    if strict and missed:
        console.print(f"[red]targets missed:[/] {', '.join(missed)}")
        raise typer.Exit(1)


@bench_app.command("monitor")
def bench_monitor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    quick: Annotated[bool, typer.Option(help="Windows of 1k and 10k only, fewer trials.")] = False,
    embeddings: Annotated[
        Path | None, typer.Option(help=".npz with embeddings and labels for the power check.")
    ] = None,
    new_topics: Annotated[int, typer.Option(min=1, help="Topics held out as new.")] = 5,
    strict: Annotated[bool, typer.Option(help="Exit 1 when a target is missed.")] = False,
) -> None:
    """Every signal on a 10k window vs a 10k reference (384-d), beside Evidently; 1k/10k/100k."""
    from evals.bench.monitor import run

    sizes = (1000, 10000) if quick else (1000, 10000, 100000)
    power = {"null_trials": 40, "shift_trials": 20} if quick else None
    result = run(sizes, embeddings=embeddings, new_topics=new_topics, power=power)
    typer.echo(json.dumps(result, indent=None if as_json else 2))
    missed = [name for name, ok in result.get("targets", {}).items() if not ok]
    if strict and missed:
        console.print(f"[red]targets missed:[/] {', '.join(missed)}")
        raise typer.Exit(1)


@bench_app.command("alarms")
def bench_alarms(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    months: Annotated[int, typer.Option(min=10, help="Calm 30-day periods simulated.")] = 400,
    seed: Annotated[int, typer.Option(help="Seed of the simulated p-values.")] = 0,
    reference_tickets: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Judge every window against one reference of this many tickets (its sampling "
            "error shared by the windows); default: none shared.",
        ),
    ] = None,
    per_hour: Annotated[
        float, typer.Option(min=1.0, help="Tickets an hour, with --reference-tickets.")
    ] = 150.0,
    strict: Annotated[
        bool, typer.Option(help="Exit 1 when the realized rate is above the budget.")
    ] = False,
) -> None:
    """False alerts of a 20-segment, three-window-size deployment over calm months, against
    its budget of one per period (window and sequential layers, hysteresis included)."""
    from evals.bench.alarms import run

    result = run(months=months, seed=seed, reference_tickets=reference_tickets, per_hour=per_hour)
    typer.echo(json.dumps(result, indent=None if as_json else 2))
    if strict and not result["consistent_with_budget"]:
        console.print("[red]more false alerts than the budget allows[/]")
        raise typer.Exit(1)


@bench_app.command("abstention")
def bench_abstention(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    seeds: Annotated[int, typer.Option(min=1, help="Draws of held-out intents.")] = 5,
    held_out: Annotated[int, typer.Option(min=1, help="Intents kept out of history.")] = 10,
    alpha: Annotated[float, typer.Option(min=0.001, max=0.5)] = 0.05,
    target_accuracy: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
    splits: Annotated[
        int, typer.Option(min=0, help="Random calibration splits for the accuracy check.")
    ] = 20,
    calibration: Annotated[
        int, typer.Option(min=50, help="Held-out history tickets (as versions create).")
    ] = 4000,
    embeddings: Annotated[
        Path | None, typer.Option(help="An .npz cache of the embeddings (written if absent).")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 when a target is missed.")] = False,
) -> None:
    """Banking77 with intents held out of history: in-scope escalation, unseen intents caught
    and auto-routed accuracy, against today's fixed rule and the plain conformal rule."""
    from agent.config import get_settings
    from agent.taxonomy import load_taxonomy
    from evals.bench import abstention
    from evals.progress import RichBars

    class Bars(RichBars):
        def start_bar(self, name: str, description: str, total: int) -> None:
            self._add(name, description, total)

        def advance(self, name: str) -> Callable[[int], None]:
            return lambda n: self._advance(name, n)

    console.print("embedding Banking77 (once per run, or read from --embeddings)…")
    corpus = abstention.load_banking77(get_settings(), embeddings)
    taxonomy = load_taxonomy("banking77")
    with Bars(console) as bars:
        bars.start_bar("seeds", "held-out intent splits", seeds)
        result = abstention.run(
            corpus,
            taxonomy,
            seeds=seeds,
            held_out=held_out,
            alpha=alpha,
            target_accuracy=target_accuracy,
            n_calibration=calibration,
            progress=bars.advance("seeds"),
        )
        if splits:
            bars.start_bar("splits", "calibration splits (target accuracy)", splits)
            result["target_accuracy_splits"] = abstention.calibration_splits(
                corpus,
                taxonomy,
                splits=splits,
                alpha=alpha,
                target_accuracy=target_accuracy,
                n_calibration=calibration,
                progress=bars.advance("splits"),
            )
    result["targets"] = abstention.targets(result)
    typer.echo(json.dumps(result, indent=None if as_json else 2, default=str))
    missed = [name for name, ok in result["targets"].items() if not ok]
    if strict and missed:
        console.print(f"[red]targets missed:[/] {', '.join(missed)}")
        raise typer.Exit(1)


@bench_app.command("soak")
def bench_soak(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    minutes: Annotated[float, typer.Option(min=0.05, help="Soak duration (fractions too).")] = 10,
    seconds: Annotated[
        float | None, typer.Option(min=3, help="Soak duration in seconds (over --minutes).")
    ] = None,
    warmup: Annotated[
        float, typer.Option(min=0, help="Seconds before the memory baseline (at most half).")
    ] = 60,
    history: Annotated[int, typer.Option(min=100, help="History tickets loaded.")] = 2000,
    probe: Annotated[
        int, typer.Option(min=50, help="Tickets of the throughput probe (the monitor's reference).")
    ] = 600,
    rate: Annotated[
        float | None, typer.Option(min=0.1, help="Tickets/s (default: half the probe's).")
    ] = None,
    window: Annotated[str, typer.Option(help="The monitor's window size.")] = "60s",
    segments: Annotated[
        str, typer.Option(help="Monitor segments besides the whole stream (queue,channel...).")
    ] = "",
    logs: Annotated[Path | None, typer.Option(help="Folder for the processes' logs.")] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 also when RSS grows 10% or more.")] = False,
) -> None:
    """API, worker and beat under steady load at half the routing throughput: errors and
    latency per minute, memory of every process, database growth, lost tickets."""
    from evals.bench.soak import SoakOptions, run

    options = SoakOptions(
        seconds=seconds if seconds is not None else minutes * 60,
        warmup_s=warmup,
        history=history,
        probe_tickets=probe,
        rate=rate,
        window=window,
        segments=segments,
        logs=logs,
    )
    try:
        result = run(options, say=lambda line: console.print(line, highlight=False, soft_wrap=True))
    except Exception as exc:  # every failure ends the soak; say which and why, no traceback
        console.print(f"[red]bench soak failed:[/] {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result, indent=None if as_json else 2))
    failed = [name for name, ok in result["targets"].items() if not ok]
    if failed:
        console.print(f"[red]targets missed:[/] {', '.join(failed)}")
    if (set(failed) - {"rss_growth_under_10pct"}) or (strict and failed):
        raise typer.Exit(1)


def demo(
    examples: Annotated[int, typer.Option(min=1, help="Tickets to route in the tour.")] = 12,
    port: Annotated[int | None, typer.Option(help="API port (default: a free one).")] = None,
) -> None:
    """Run the whole system end to end on this machine and print where to look."""
    from agent.config import get_settings
    from evals.demo import run_demo

    run_demo(get_settings(), examples=examples, port=port)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
    from evals.eval_cli import eval_app
    from evals.quickstart_cli import quickstart
    from evals.replay.cli import replay

    app.add_typer(bench_app, name="bench")
    app.add_typer(eval_app, name="eval")
    app.command()(demo)
    app.command()(replay)
    app.command()(quickstart)
