"""The tenants' public ticket portals: an operator turns one on (audited), and the portal
finds its tenant by slug. Off by default; a disabled tenant's portal is off too."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models.tenancy import SLUG_PATTERN
from agent.repositories import tenants
from agent.services.operators import Actor, OperatorError, audit

MAX_SLUG = 63


@dataclass(frozen=True)
class PortalTenant:
    """What the portal may know of its tenant."""

    id: uuid.UUID
    slug: str
    name: str
    show_queue: bool
    rate_limit_per_minute: int = 6000


def slug_of(name: str) -> str:
    """A URL slug from a tenant's name: lower case, runs of other characters become '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:MAX_SLUG].strip("-")


async def set_portal(
    session: AsyncSession,
    *,
    name: str,
    enabled: bool,
    actor: Actor,
    slug: str | None = None,
    show_queue: bool | None = None,
) -> PortalTenant:
    """Turn tenant ``name``'s portal on or off; enabling gives it a slug (``slug``, else the
    one it has, else one made from its name). ``show_queue`` None leaves that choice as is."""
    tenant = await tenants.by_name(session, name)
    if tenant is None:
        raise OperatorError(f"no tenant {name!r}")
    new_slug = slug or tenant.slug or slug_of(name)
    if not re.fullmatch(SLUG_PATTERN, new_slug) or len(new_slug) > MAX_SLUG:
        raise OperatorError(f"invalid slug {new_slug!r}: lower-case letters, digits and '-'")
    holder = await tenants.by_slug(session, new_slug)
    if holder is not None and holder.id != tenant.id:
        raise OperatorError(f"slug {new_slug!r} is taken by tenant {holder.name!r}")
    tenant.slug = new_slug
    tenant.portal_enabled_at = datetime.now(UTC) if enabled else None
    if show_queue is not None:
        tenant.portal_show_queue = show_queue
    await session.flush()
    action = "tenant.portal_on" if enabled else "tenant.portal_off"
    await audit(session, actor, action, name, slug=new_slug, show_queue=tenant.portal_show_queue)
    return PortalTenant(
        tenant.id, new_slug, tenant.name, tenant.portal_show_queue, tenant.rate_limit_per_minute
    )


async def portal_tenant(session: AsyncSession, slug: str) -> PortalTenant | None:
    """The tenant whose portal is ``slug``, if that portal is on and the tenant active."""
    tenant = await tenants.by_slug(session, slug)
    if tenant is None or tenant.portal_enabled_at is None or tenant.disabled_at is not None:
        return None
    return PortalTenant(
        tenant.id,
        tenant.slug or slug,
        tenant.name,
        tenant.portal_show_queue,
        tenant.rate_limit_per_minute,
    )
