"""Test databases: one migrated template per run, cheap copies for tests that need their own."""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy.engine import make_url


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (keeps host, socket and credentials)."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_database(admin_url: str, name: str, *, template: str | None = None) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        tmpl = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{tmpl}')


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def add_tenant(url: str) -> uuid.UUID:
    """A bare tenant row (no usable API key) in the database at ``url``; its id."""
    tenant_id = uuid.uuid4()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, api_key_hash, api_key_prefix, rate_limit_per_minute) "
            "VALUES (%s, %s, %s, 'tw_', 60)",
            (tenant_id, tenant_id.hex, tenant_id.hex),
        )
    return tenant_id
