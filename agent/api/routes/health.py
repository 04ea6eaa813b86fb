"""Liveness, readiness, details, and Prometheus metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from agent.api.deps import RuntimeDep
from agent.metrics import exposition, set_queue_depth, set_switches
from agent.services.health import monitor_tasks_waiting, ping_database, reviews_waiting
from agent.switches import GLOBAL_SWITCH

router = APIRouter(tags=["health"])
STARTED = time.time()


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. Checks no dependency."""
    return {"status": "ok"}


async def _check(name: str, probe: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), timeout=2.0)
        return {
            "name": name,
            "ok": True,
            "ms": round((time.perf_counter() - t0) * 1000, 2),
            **(detail or {}),
        }
    except Exception as exc:  # noqa: BLE001 - report every failure as a failed check
        return {"name": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


async def _checks(runtime: RuntimeDep) -> list[dict[str, Any]]:
    async def database() -> None:
        await ping_database(sessions=runtime.sessions)

    async def redis() -> None:
        await runtime.redis.ping()

    async def classifier() -> dict[str, Any]:
        version = await runtime.control.resolve(sticky_key="readiness")
        if version is None:
            raise RuntimeError("no agent version is labelled production")
        return {
            "version": version.semver,
            "classifier": version.classifier,
            "embedding_model": runtime.embedder.model_name,
        }

    return list(
        await asyncio.gather(
            _check("database", database), _check("redis", redis), _check("classifier", classifier)
        )
    )


# Routing works without Redis (rate limits fail open, kill switches are re-read from
# Postgres); without the database or a production version it does not.
OPTIONAL_CHECKS = frozenset({"redis"})


@router.get("/ready")
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: the database and the classifier (a production version) are usable; Redis
    down leaves the API ready but ``degraded``."""
    checks = await _checks(runtime)
    ok = all(c["ok"] for c in checks if c["name"] not in OPTIONAL_CHECKS)
    status = "not_ready" if not ok else "ready" if all(c["ok"] for c in checks) else "degraded"
    body = {"status": status, "checks": checks}
    return JSONResponse(status_code=200 if ok else 503, content=body)


@router.get("/health/detailed")
async def detailed(runtime: RuntimeDep) -> dict[str, Any]:
    """Every check with timings, the serving version and the kill switches that are on."""
    checks = await _checks(runtime)
    try:
        switches = sorted(await runtime.control.enabled())
    except Exception:  # noqa: BLE001
        switches = None
    return {
        "status": "ok" if all(c["ok"] for c in checks) else "degraded",
        "uptime_s": round(time.time() - STARTED, 1),
        "checks": checks,
        "kill_switches_on": switches,
        "services": "external" if runtime.settings.database_url else "embedded",
    }


@router.get("/metrics", include_in_schema=False)
async def metrics(runtime: RuntimeDep) -> Response:
    try:
        set_switches(await runtime.control.enabled(), frozenset({GLOBAL_SWITCH}))
    except Exception:  # noqa: BLE001 - metrics must render even when the database is down
        pass
    depths = {
        "monitor_tasks": lambda: monitor_tasks_waiting(runtime.redis),
        "review": lambda: reviews_waiting(sessions=runtime.sessions),
    }
    for queue, read in depths.items():
        try:
            set_queue_depth(queue, await asyncio.wait_for(read(), timeout=2.0))
        except Exception:  # noqa: BLE001 - a store that is down leaves the last value
            pass
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
