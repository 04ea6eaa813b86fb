"""``eval list``: the golden sets and the latest eval runs."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import AgentVersion, GoldenSet
from evals import repository


async def snapshot(session: AsyncSession, *, runs: int) -> dict[str, Any]:
    sets = await repository.golden_sets(session)
    by_id = {s.id: s for s in sets}
    rows = []
    for run in await repository.recent_runs(session, limit=runs):
        version = await session.get(AgentVersion, run.agent_version_id)
        golden = by_id.get(run.golden_set_id) or await session.get(GoldenSet, run.golden_set_id)
        m = run.metrics
        rows.append(
            {
                "run_id": str(run.id),
                "version": version.semver if version else None,
                "golden": f"{golden.name}@{golden.version}" if golden else None,
                "k": run.k,
                "n_cases": run.n_cases,
                "queue_accuracy": m["queue"]["accuracy"],
                "queue_macro_f1": m["queue"]["macro_f1"],
                "priority_accuracy": m["priority"]["accuracy"],
                "coverage": m["coverage"],
                "queue_ece": m["queue"]["ece"],
                "finished_at": run.finished_at.isoformat(),
            }
        )
    return {
        "golden_sets": [
            {
                "name": s.name,
                "version": s.version,
                "content_hash": s.content_hash,
                "n_cases": s.n_cases,
                "taxonomy": s.taxonomy,
                "source": s.source,
                "file_name": s.file_name,
                "created_at": s.created_at.isoformat(),
            }
            for s in sets
        ],
        "runs": rows,
    }


def print_listing(console: Console, data: dict[str, Any]) -> None:
    sets = Table(title="golden sets")
    for col in ("name", "version", "cases", "hash", "taxonomy", "source"):
        sets.add_column(col)
    for s in data["golden_sets"]:
        sets.add_row(
            s["name"],
            s["version"],
            str(s["n_cases"]),
            s["content_hash"][:12],
            s["taxonomy"],
            s["source"],
        )
    console.print(
        sets if data["golden_sets"] else "no golden sets yet: run `ticketwatch eval build-golden`"
    )
    if not data["runs"]:
        return
    runs = Table(title="recent eval runs")
    for col in (
        "finished",
        "version",
        "golden set",
        "k",
        "queue acc",
        "queue F1",
        "prio acc",
        "coverage",
        "ECE",
    ):
        runs.add_column(col)
    for r in data["runs"]:
        runs.add_row(
            r["finished_at"][:19],
            str(r["version"]),
            str(r["golden"]),
            str(r["k"]),
            f"{r['queue_accuracy']:.1%}",
            f"{r['queue_macro_f1']:.1%}",
            f"{r['priority_accuracy']:.1%}",
            f"{r['coverage']:.1%}",
            f"{r['queue_ece']:.4f}",
        )
    console.print(runs)
