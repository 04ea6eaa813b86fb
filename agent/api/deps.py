"""Dependencies of the endpoints: the runtime, the authenticated tenant, rate limits."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from redis.exceptions import RedisError

from agent.runtime import AgentRuntime
from agent.services.tenants import TenantRef

log = logging.getLogger(__name__)


def get_runtime(request: Request) -> AgentRuntime:
    runtime: AgentRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[AgentRuntime, Depends(get_runtime)]


def _api_key(authorization: str | None, x_api_key: str | None) -> str:
    if x_api_key:
        return x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    raise HTTPException(
        401,
        "missing API key: send 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def get_tenant(
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> TenantRef:
    tenant = await runtime.tenants.authenticate(_api_key(authorization, x_api_key))
    if tenant is None:
        raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    await _rate_limit(runtime, tenant)
    return tenant


async def _rate_limit(runtime: AgentRuntime, tenant: TenantRef) -> None:
    """A per-minute window per tenant in Redis; open when Redis is down (never lose tickets)."""
    window = int(time.time() // 60)
    key = f"ticketwatch:rate:{tenant.id}:{window}"
    try:
        async with runtime.redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("rate limiting skipped, redis unreachable: %s", type(exc).__name__)
        return
    if count > tenant.rate_limit_per_minute:
        retry = 60 - int(time.time()) % 60
        raise HTTPException(
            429,
            f"rate limit of {tenant.rate_limit_per_minute}/min exceeded",
            headers={"Retry-After": str(retry)},
        )


TenantDep = Annotated[TenantRef, Depends(get_tenant)]
