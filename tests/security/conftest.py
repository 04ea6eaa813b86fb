"""Fixtures of the security tests: a second tenant beside the live UI's own."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from agent.services.operators import Actor
from agent.services.tenants import create_tenant
from tests.asyncdb import session_for
from tests.live_ui import LiveUi


async def _new_tenant_key(database_url: str) -> str:
    async with session_for(database_url) as session:
        _, key = await create_tenant(
            session, name=f"other-{uuid.uuid4().hex[:8]}", actor=Actor("tests", "admin")
        )
    return key


@pytest.fixture(scope="module")
def other_tenant_key(live_ui: LiveUi) -> str:
    """The API key of a tenant that owns none of the live UI's tickets."""
    return asyncio.run(_new_tenant_key(live_ui.database_url))
