"""``ticketwatch switch``, ``versions`` and ``tenants``: operator actions from the terminal."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer
from rich.table import Table

from agent.commands.common import cli_actor, cli_session, console, run
from agent.services import operators
from agent.services.portal import set_portal
from agent.services.tenants import create_tenant, list_tenants

switch_app = typer.Typer(
    help="Kill switches: route every new ticket (or a segment) to humans.", no_args_is_help=True
)
versions_app = typer.Typer(
    help="Agent versions and their labels (promote, roll back, canary, shadow, compare).",
    no_args_is_help=True,
)
tenants_app = typer.Typer(
    help="Tenants: the systems allowed to submit tickets.", no_args_is_help=True
)

KeyArg = Annotated[
    str,
    typer.Argument(
        help="'global', or a segment: channel:<c>, source:<s>, tenant:<id>, queue:<q>, priority:<p>"
    ),
]


@switch_app.command("on")
def switch_on(
    key: KeyArg = "global",
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
) -> None:
    """Turn a kill switch on: matching new tickets go to human triage, no model is called."""

    async def body() -> None:
        async with cli_session(notify_control=True) as session:
            await operators.set_kill_switch(
                session, key=key, enabled=True, reason=reason, actor=cli_actor()
            )

    run(body)
    console.print(f"[red]kill switch {key} is ON[/]: new matching tickets go to human triage")


@switch_app.command("off")
def switch_off(
    key: KeyArg = "global", reason: Annotated[str, typer.Option(help="Why (audit log).")] = ""
) -> None:
    """Turn a kill switch off: the agent routes matching tickets again."""

    async def body() -> None:
        async with cli_session(notify_control=True) as session:
            await operators.set_kill_switch(
                session, key=key, enabled=False, reason=reason, actor=cli_actor()
            )

    run(body)
    console.print(f"[green]kill switch {key} is off[/]")


@switch_app.command("status")
def switch_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every kill switch, on or off, with who set it and why."""

    async def body() -> list[dict[str, object]]:
        async with cli_session() as session:
            return [
                {
                    "key": s.key,
                    "enabled": s.enabled,
                    "reason": s.reason,
                    "actor": s.actor,
                    "updated_at": s.updated_at.isoformat(),
                }
                for s in await operators.kill_switches(session)
            ]

    rows = run(body)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no kill switch has ever been set: the agent routes every ticket")
    table = Table("switch", "state", "reason", "by", "since")
    for r in rows:
        table.add_row(
            str(r["key"]),
            "[red]ON[/]" if r["enabled"] else "off",
            str(r["reason"]),
            str(r["actor"]),
            str(r["updated_at"]),
        )
    console.print(table)


@versions_app.command("list")
def versions_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Agent versions, newest first, with the labels that point at them."""

    async def body() -> list[dict[str, object]]:
        async with cli_session() as session:
            versions, version_labels = await operators.versions_with_labels(session)
            labels: dict[uuid.UUID, list[str]] = {}
            for lab in version_labels:
                labels.setdefault(lab.agent_version_id, []).append(
                    f"{lab.label}"
                    + (f" {lab.canary_percent}%" if lab.label != "production" else "")
                )
            return [
                {
                    "semver": v.semver,
                    "classifier": v.classifier,
                    "model": v.model,
                    "content_hash": v.content_hash,
                    "labels": labels.get(v.id, []),
                    "author": v.author,
                    "created_at": v.created_at.isoformat(),
                    "rationale": v.rationale,
                }
                for v in versions
            ]

    rows = run(body)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(
        "version", "classifier", "model", "hash", "labels", "author", "created", "rationale"
    )
    for r in rows:
        table.add_row(
            str(r["semver"]),
            str(r["classifier"]),
            str(r["model"] or "-"),
            str(r["content_hash"])[:12],
            ", ".join(map(str, r["labels"])) or "-",  # type: ignore[call-overload]
            str(r["author"]),
            str(r["created_at"])[:19],
            str(r["rationale"]),
        )
    console.print(table)


def _label(label: str, semver: str, percent: int, action: str) -> None:
    async def body() -> None:
        async with cli_session(notify_control=True) as session:
            await operators.move_label(
                session,
                label=label,
                semver=semver,
                actor=cli_actor(),
                canary_percent=percent,
                action=action,
            )

    run(body)


@versions_app.command("promote")
def promote(semver: str) -> None:
    """Serve this version in production (effective on the next ticket)."""
    _label("production", semver, 0, "version.promote")
    console.print(f"production → {semver}")


@versions_app.command("canary")
def canary(semver: str, percent: Annotated[int, typer.Option(min=0, max=100)] = 5) -> None:
    """Serve this version to a sticky share of customers (1 → 5 → 20 → 50 → 100)."""
    _label("canary", semver, percent, "version.canary")
    console.print(f"canary → {semver} for {percent}% of customers")


@versions_app.command("shadow")
def shadow(
    semver: Annotated[str | None, typer.Argument(help="The candidate (omit with --off).")] = None,
    percent: Annotated[
        int, typer.Option(min=0, max=100, help="Share of live tickets it also routes.")
    ] = 100,
    off: Annotated[bool, typer.Option("--off", help="Stop shadowing.")] = False,
) -> None:
    """Run a version as the shadow: after production decides, a worker routes the same ticket
    with it (recorded, never served) on a share of live tickets chosen by ticket id."""

    async def body() -> str:
        async with cli_session(notify_control=True) as session:
            return await operators.set_shadow(
                session, semver=semver, percent=0 if off else percent, actor=cli_actor()
            )

    served = run(body)
    if off:
        console.print(f"shadow {served} is off")
    else:
        console.print(f"shadow → {served} on {percent}% of tickets")


@versions_app.command("rollback")
def rollback(to: Annotated[str | None, typer.Option(help="Version to return to.")] = None) -> None:
    """Move production back to the version it served before (or to --to)."""

    async def body() -> str:
        async with cli_session(notify_control=True) as session:
            return await operators.rollback_production(session, actor=cli_actor(), to_semver=to)

    console.print(f"production rolled back → {run(body)}")


@tenants_app.command("add")
def tenants_add(
    name: str,
    rate_limit: Annotated[int, typer.Option(min=1, help="Tickets per minute.")] = 6000,
    budget: Annotated[
        float | None,
        typer.Option(
            help="Monthly model budget in USD: alert at 80%, cheaper model at 95%, humans at 100%.",
        ),
    ] = None,
) -> None:
    """Create a tenant and print its API key (shown once; only its hash is stored)."""

    async def body() -> str:
        async with cli_session() as session:
            _, key = await create_tenant(
                session,
                name=name,
                actor=cli_actor(),
                rate_limit_per_minute=rate_limit,
                monthly_budget_usd=budget,
            )
            return key

    key = run(body)
    console.print(
        f"tenant [bold]{name}[/] created. API key (store it now, it is not shown again):\n{key}",
        soft_wrap=True,
    )


@tenants_app.command("list")
def tenants_list() -> None:
    """Tenants with their key prefix, rate limit and portal."""

    async def body() -> list[tuple[str, str, int, bool, str]]:
        async with cli_session() as session:
            return [
                (
                    t.name,
                    t.api_key_prefix,
                    t.rate_limit_per_minute,
                    t.disabled_at is None,
                    f"/portal/{t.slug}" if t.portal_enabled_at else "off",
                )
                for t in await list_tenants(session)
            ]

    table = Table("tenant", "key prefix", "rate limit/min", "active", "portal")
    for name, prefix, limit, active, portal in run(body):
        table.add_row(name, prefix + "…", str(limit), "yes" if active else "no", portal)
    console.print(table)


@tenants_app.command("portal")
def tenants_portal(
    name: str,
    enable: Annotated[bool, typer.Option("--enable/--disable", help="Turn it on or off.")],
    slug: Annotated[
        str | None, typer.Option(help="URL name: /portal/<slug> (default: from the name).")
    ] = None,
    show_queue: Annotated[
        bool | None,
        typer.Option(
            "--show-queue/--hide-queue",
            help="Show the queue's display name on the portal (default: as before; off).",
        ),
    ] = None,
) -> None:
    """Turn a tenant's public ticket portal on or off (audited)."""

    async def body() -> str:
        async with cli_session() as session:
            portal = await set_portal(
                session,
                name=name,
                enabled=enable,
                actor=cli_actor(),
                slug=slug,
                show_queue=show_queue,
            )
            return portal.slug

    path = f"/portal/{run(body)}"
    console.print(f"portal of [bold]{name}[/] is {'ON at ' + path if enable else 'off'}")


review_app = typer.Typer(
    help="Review sampling: boost the share of a segment sent to reviewers.", no_args_is_help=True
)


@review_app.command("boost")
def review_boost(
    segment: Annotated[str, typer.Argument(help="channel:<c>, queue:<q>, priority:<p>, ...")],
    rate: Annotated[float, typer.Option(min=0.0001, max=1.0, help="Share sampled.")] = 0.5,
    hours: Annotated[float | None, typer.Option(help="Expire after this long.")] = 24.0,
    reason: Annotated[str, typer.Option(help="Why (audit log).")] = "",
) -> None:
    """Sample more of a segment's confident decisions for review (unbiased: each sampled
    decision keeps its inclusion probability)."""
    from datetime import UTC, datetime, timedelta

    until = datetime.now(UTC) + timedelta(hours=hours) if hours else None

    async def body() -> None:
        async with cli_session(notify_control=True) as session:
            await operators.boost_review(
                session,
                segment=segment,
                rate=rate,
                actor=cli_actor(),
                reason=reason,
                expires_at=until,
            )

    run(body)
    console.print(
        f"{segment}: {rate:.0%} of confident decisions go to review"
        + (f" until {until:%Y-%m-%d %H:%M} UTC" if until else "")
    )


@review_app.command("unboost")
def review_unboost(segment: str) -> None:
    """Return a segment to the base review rate."""

    async def body() -> None:
        async with cli_session(notify_control=True) as session:
            await operators.end_review_boost(session, segment=segment, actor=cli_actor())

    run(body)
    console.print(f"{segment}: back to the base review rate")
