"""``ticketwatch demo``: the whole system on this machine, end to end, in a few minutes.

Starts what is missing (embedded Postgres with pgvector and Redis unless URLs are given),
migrates, loads Banking77 history, creates and promotes a calibrated knn version, starts the
real API, routes tickets through it over HTTP, shows the kill switch handing routing to humans,
replays a drift (a product launch) through the real API and monitor until the monitor raises
an alert, and prints where to look.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent import migrate
from agent.classify.abstention import RoutingTarget
from agent.config import Settings
from agent.datasets.banking77 import labelled_records
from agent.datasets.records import shuffled
from agent.db import async_session_scope, make_async_engine
from agent.embed import get_bulk_embedding
from agent.embedded import resolve_database_url, resolve_redis_url
from agent.repositories import catalog
from agent.services.calibration import calibrate_version
from agent.services.control import ControlPlane
from agent.services.history_loader import load_history
from agent.services.operators import Actor, move_label, set_kill_switch
from agent.services.portal import set_portal
from agent.services.tenants import create_tenant
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from evals import repository
from evals.bench.harness import free_port, process
from evals.demo_drift import print_outcome, replay_drift

ACTOR = Actor("demo", "admin")
console = Console()


def step(title: str) -> None:
    console.rule(f"[bold]{title}")


def ensure_history(url: str, settings: Settings) -> None:
    have = repository.history_size(url)
    records = labelled_records("train", load_taxonomy("banking77"))
    if have >= len(records):
        console.print(f"history: {have} outcomes already loaded")
        return
    bulk = get_bulk_embedding(settings)  # one single-threaded model run per core
    with Progress(
        TextColumn("embedding and loading Banking77 history"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("load", total=len(records))
        report = load_history(
            url,
            records,
            source="history:banking77-train",
            embedder=bulk.embedder,
            workers=bulk.workers,
            progress=lambda n: bar.advance(task, n),
        )
    console.print(
        f"history: {report.inserted} loaded, {report.skipped} already there ({report.seconds:.0f}s)"
    )


async def _ensure_version_and_tenant(url: str, settings: Settings) -> str:
    engine = make_async_engine(url, settings, application_name="ticketwatch-demo")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    key_file = settings.data_dir / "demo" / "api_key"
    try:
        async with async_session_scope(sessions) as session:
            labels = {lab.label for lab in await catalog.labels(session)}
            if "production" not in labels:
                taxonomy = load_taxonomy("banking77")
                fitted = calibrate_version(url, taxonomy, target=RoutingTarget(min_confidence=0.5))
                semver = "1.0.0"
                if await catalog.version_by_semver(session, semver) is None:
                    await create_version(
                        session,
                        semver=semver,
                        classifier="knn",
                        taxonomy=taxonomy,
                        actor=ACTOR,
                        params=fitted.params.to_params(),
                        thresholds=fitted.thresholds(0.5),
                        embedding_model=settings.embedding_model,
                        rationale="demo: calibrated knn and novelty gate on Banking77 history",
                    )
                await move_label(session, label="production", semver=semver, actor=ACTOR)
                console.print(
                    f"version {semver} (knn, calibrated, novelty gate at alpha "
                    f"{fitted.abstention.gate.alpha:g}) is production"
                )
            else:
                console.print("a production version exists already")
            if not key_file.exists():
                name = f"demo-{uuid.uuid4().hex[:6]}"
                _, key = await create_tenant(session, name=name, actor=ACTOR)
                # The demo tenant's portal (and so its inbox address) is on: audited like any.
                portal = await set_portal(session, name=name, enabled=True, actor=ACTOR)
                key_file.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(key)
                (key_file.parent / "portal_slug").write_text(portal.slug)
        return key_file.read_text().strip()
    finally:
        await engine.dispose()


async def _switch(url: str, settings: Settings, on: bool) -> None:
    engine = make_async_engine(url, settings, application_name="ticketwatch-demo")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with async_session_scope(sessions) as session:
            await set_kill_switch(
                session,
                key="global",
                enabled=on,
                reason="demo: hand routing to humans",
                actor=ACTOR,
            )
        from redis.asyncio import Redis

        redis = Redis.from_url(resolve_redis_url(settings))
        await ControlPlane(sessions, redis).changed()
        await redis.aclose()
    finally:
        await engine.dispose()


@contextmanager
def api_server(url: str, settings: Settings, port: int) -> Iterator[str]:
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": resolve_redis_url(settings),
        "TICKETWATCH_DATA_DIR": str(settings.data_dir),
        "TICKETWATCH_LOG_LEVEL": "WARNING",
    }
    base = f"http://127.0.0.1:{port}"
    with process(["-m", "agent", "serve", "--port", str(port)], env=env, ready_url=f"{base}/ready"):
        yield base


def route_examples(base: str, key: str, n: int) -> None:
    tests = shuffled(labelled_records("test", load_taxonomy("banking77")), seed=3)[:n]
    table = Table("true queue", "routed to", "prio", "conf", "mode", "ms", "ticket")
    for column in table.columns[:-1]:
        column.no_wrap = True
    table.columns[-1].no_wrap = True
    table.columns[-1].overflow = "ellipsis"
    table.columns[-1].max_width = 48
    correct = novel = 0
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        for rec in tests:
            t0 = time.perf_counter()
            r = client.post(
                "/v1/tickets",
                json={
                    "source": "demo",
                    "external_id": uuid.uuid4().hex,
                    "body": rec.text,
                    "channel": "chat",
                },
            ).json()
            ms = (time.perf_counter() - t0) * 1000
            correct += r["queue"] == rec.queue
            novel += r["mode"] == "novel"
            style = (
                "green"
                if r["routed_to"] == rec.queue
                else ("yellow" if r["routed_to"] == "human_triage" else "red")
            )
            table.add_row(
                rec.queue,
                f"[{style}]{r['routed_to']}[/]",
                str(r["priority"]),
                f"{r['confidence'] or 0:.2f}",
                r["mode"],
                f"{ms:.0f}",
                rec.text,
            )
    console.print(table)
    console.print(
        f"{correct}/{n - novel} predicted queues match the human label"
        + (f" ({novel} sent to humans as novel: unlike the history)" if novel else "")
    )


def run_demo(settings: Settings, *, examples: int = 12, port: int | None = None) -> None:
    t_start = time.perf_counter()
    step("1. services")
    url = resolve_database_url(settings)
    resolve_redis_url(settings)
    console.print(
        "Postgres + pgvector and Redis: "
        + (
            "external (DATABASE_URL / REDIS_URL)"
            if settings.database_url
            else f"embedded, data in {settings.data_dir}"
        )
    )
    step("2. schema")
    migrate.upgrade(url)
    console.print(f"schema at {migrate.current_revision(url)}")
    step("3. history")
    ensure_history(url, settings)
    step("4. agent version and tenant")
    key = asyncio.run(_ensure_version_and_tenant(url, settings))
    step("5. the API, over HTTP")
    with api_server(url, settings, port or free_port()) as base:
        console.print(f"API ready at {base} (OpenAPI docs: {base}/docs)")
        route_examples(base, key, examples)
        step("6. kill switch: hand routing to humans, at once")
        asyncio.run(_switch(url, settings, True))
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as c:
            r = c.post(
                "/v1/tickets",
                json={
                    "source": "demo",
                    "external_id": uuid.uuid4().hex,
                    "body": "My card was stolen, please block it",
                },
            )
            console.print(
                f"with the switch on: routed_to={r.json()['routed_to']} mode={r.json()['mode']}"
            )
        asyncio.run(_switch(url, settings, False))
        console.print("switch off again: the agent routes tickets")
    step("7. a silent failure: a product launch the agent has never seen")
    console.print(
        "Replaying a launch through the real API and monitor, on a simulated hourly clock "
        "(its own scratch database; the reviewers are simulated):"
    )
    reports = settings.data_dir / "replays"
    outcome = replay_drift(settings, reports, console)
    print_outcome(outcome, console)
    step("where to look")
    console.print(
        f"- the drift report (plots, every window, the peers): {outcome.report}\n"
        f"- the full scenarios: ticketwatch replay evals/scenarios/*.yaml --report DIR\n"
        f"- serve the API and review UI: [bold]ticketwatch serve[/] "
        f"(http://{settings.host}:{settings.port}/review, API docs at /docs); create a login "
        f"with ticketwatch users add\n"
        f"- the live monitor: ticketwatch worker and ticketwatch beat (windows of "
        f"{settings.monitor_window_sizes}); ticketwatch monitor status\n"
        f"{_portal_lines(settings)}"
        f"- demo tenant API key: {settings.data_dir / 'demo' / 'api_key'}\n"
        f"- services: ticketwatch services status\n"
        f"demo finished in {time.perf_counter() - t_start:.0f}s"
    )


def _portal_lines(settings: Settings) -> str:
    """Where the demo tenant's customers write: its portal, and its address at the inbox."""
    slug_file = settings.data_dir / "demo" / "portal_slug"
    if not slug_file.exists():  # a demo tenant made before portals: enable one by hand
        return (
            "- the ticket portal: ticketwatch tenants portal NAME --enable, then "
            f"http://{settings.host}:{settings.port}/portal/<slug> under ticketwatch serve\n"
        )
    slug = slug_file.read_text().strip()
    domain = settings.inbox_domain or "<any domain>"
    return (
        f"- the demo tenant's ticket portal (under ticketwatch serve): "
        f"http://{settings.host}:{settings.port}/portal/{slug}\n"
        f"- its email inbox: [bold]ticketwatch inbox[/] (SMTP on {settings.inbox_host}:"
        f"{settings.inbox_port}), then mail {slug}@{domain} (docs/portal.md, Email inbox)\n"
    )
