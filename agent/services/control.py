"""The control plane: kill switches and version labels, cached per process.

Postgres is the source of truth. Each process caches the enabled switches and the labels and,
per ticket, reads one Redis key (an epoch that every change increments) to learn whether its
cache is stale, so a flip takes effect on the very next ticket in every process. When Redis is
unreachable the cache is reloaded from Postgres at most every ``fallback_ttl_s`` seconds: the
kill switch keeps working without Redis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.graph.state import ResolvedVersion
from agent.repositories import catalog, operations
from agent.taxonomy import Taxonomy

log = logging.getLogger(__name__)

EPOCH_KEY = "ticketwatch:control:epoch"


@dataclass(frozen=True)
class LabelRef:
    version_id: uuid.UUID
    canary_percent: int


@dataclass(frozen=True)
class ControlState:
    epoch: str | None
    loaded_at: float
    switches: frozenset[str]
    labels: dict[str, LabelRef]
    boosts: dict[str, tuple[float, datetime | None]] = dataclasses.field(default_factory=dict)


class ControlPlane:
    """Cached switches and labels with cross-process invalidation through Redis."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis | None,
        *,
        fallback_ttl_s: float = 1.0,
        redis_retry_s: float = 1.0,
        recheck_s: float = 0.02,
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        self._fallback_ttl_s = fallback_ttl_s
        self._redis_retry_s = redis_retry_s
        self._recheck_s = recheck_s
        self._checked_at = -1.0
        self._redis_down_until = 0.0
        self._state: ControlState | None = None
        self._lock = asyncio.Lock()
        self._versions: dict[uuid.UUID, ResolvedVersion] = {}

    async def state(self, *, fresh: bool = False) -> ControlState:
        current = self._state
        # Under load, one epoch read per ``recheck_s`` serves the label reads in between (a
        # label move reaches tickets within that window, 20 ms); ``fresh`` reads the epoch now.
        recent = time.monotonic() - self._checked_at < self._recheck_s
        if not fresh and current is not None and recent:
            return current
        epoch = await self._epoch()
        self._checked_at = time.monotonic()
        current = self._state
        if current is not None and self._fresh(current, epoch):
            return current
        async with self._lock:  # one reload at a time; the others reuse its result
            current = self._state
            if current is not None and self._fresh(current, epoch):
                return current
            self._state = await self._load(epoch)
            return self._state

    def _fresh(self, state: ControlState, epoch: str | None) -> bool:
        if epoch is not None:
            return state.epoch == epoch
        return time.monotonic() - state.loaded_at < self._fallback_ttl_s

    async def _load(self, epoch: str | None) -> ControlState:
        async with self._sessions() as session:
            switches = await operations.enabled_switch_keys(session)
            boosts = await operations.active_boosts(session)
            labels = {
                row.label: LabelRef(row.agent_version_id, row.canary_percent)
                for row in await catalog.labels(session)
            }
        return ControlState(epoch, time.monotonic(), switches, labels, boosts)

    async def _epoch(self) -> str | None:
        if self._redis is None or time.monotonic() < self._redis_down_until:
            return None
        try:
            value = await self._redis.get(EPOCH_KEY)
            return value.decode() if isinstance(value, bytes) else str(value or "0")
        except (RedisError, OSError) as exc:
            log.warning("redis unreachable for the control plane, using Postgres: %s", exc)
            self._redis_down_until = time.monotonic() + self._redis_retry_s
            return None

    async def changed(self) -> None:
        """Tell every process that switches or labels changed (call after the commit)."""
        self._state = None
        self._checked_at = -1.0
        if self._redis is None:
            return
        try:
            await self._redis.incr(EPOCH_KEY)
        except (RedisError, OSError) as exc:
            log.warning(
                "could not publish a control change through redis "
                "(processes reload within %.1fs): %s",
                self._fallback_ttl_s,
                exc,
            )

    def review_boosts(self) -> dict[str, float]:
        """Boosted review rates per segment, as of the last load (the guard step refreshes it
        on every ticket); expired boosts are left out."""
        state = self._state
        if state is None:
            return {}
        now = datetime.now(UTC)
        return {
            seg: rate for seg, (rate, until) in state.boosts.items() if until is None or until > now
        }

    async def enabled(self) -> frozenset[str]:
        """The switches on now. The guard asks once per ticket and the epoch is read every
        time, so a switch flipped before a ticket arrives reaches that ticket: at once, not
        within the recheck window (one Redis GET per ticket)."""
        return (await self.state(fresh=True)).switches

    async def resolve(self, *, sticky_key: str) -> ResolvedVersion | None:
        """Production, or the canary for a sticky per-customer share."""
        labels = (await self.state()).labels
        chosen, label = labels.get("production"), "production"
        canary = labels.get("canary")
        if (
            canary is not None
            and canary.canary_percent > 0
            and (canary_bucket(sticky_key) < canary.canary_percent or chosen is None)
        ):
            chosen, label = canary, "canary"
        if chosen is None:
            return None
        return await self._version(chosen.version_id, label)

    def cached_label(self, label: str) -> LabelRef | None:
        """The label as of the last load, without any read (the shadow dispatch asks right
        after the ticket's own guard step refreshed it)."""
        state = self._state
        return state.labels.get(label) if state is not None else None

    async def label(self, label: str, *, fresh: bool = False) -> LabelRef | None:
        return (await self.state(fresh=fresh)).labels.get(label)

    async def version(self, version_id: uuid.UUID, label: str) -> ResolvedVersion:
        """A version by id, served through ``label`` (cached: versions are immutable)."""
        return await self._version(version_id, label)

    async def production(self) -> ResolvedVersion | None:
        ref = (await self.state()).labels.get("production")
        return await self._version(ref.version_id, "production") if ref else None

    async def _version(self, version_id: uuid.UUID, label: str) -> ResolvedVersion:
        cached = self._versions.get(version_id)
        if cached is None:  # versions are immutable: cache them for the process's life
            async with self._sessions() as session:
                row = await catalog.get_version(session, version_id)
                assert row is not None, f"label points at missing version {version_id}"
                tax = await catalog.get_taxonomy(session, row.taxonomy_id)
                assert tax is not None
            cached = ResolvedVersion(
                id=str(row.id),
                semver=row.semver,
                label=label,
                classifier=row.classifier,
                model=row.model,
                fallback_model=row.fallback_model,
                prompt_template=row.prompt_template,
                embedding_model=row.embedding_model,
                content_hash=row.content_hash,
                params=row.params,
                thresholds=row.thresholds,
                taxonomy=Taxonomy.model_validate(tax.definition),
            )
            self._versions[version_id] = cached
        return cached if cached.label == label else dataclasses.replace(cached, label=label)


def canary_bucket(sticky_key: str) -> int:
    """A stable bucket in [0, 100) for a customer: the same customer always lands alike."""
    return int.from_bytes(hashlib.sha256(sticky_key.encode()).digest()[:4], "big") % 100
