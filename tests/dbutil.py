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
