"""Rows for review UI tests on a private database: a version on the real taxonomy, users,
and tickets with decisions made in bulk."""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from agent.db import sqlalchemy_url
from agent.models import User
from agent.taxonomy import load_taxonomy
from review_ui.security.passwords import hash_password
from tests.factories import make_agent_version, make_taxonomy


def seed_version_and_users(url: str, users: dict[str, tuple[str, str]]) -> uuid.UUID:
    """A banking77 agent version (its id) and the given users (name: (role, password))."""
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    taxonomy = load_taxonomy("banking77")
    with Session(engine) as db:
        tax = make_taxonomy(
            db,
            name=taxonomy.name,
            version=taxonomy.version,
            content_hash=taxonomy.content_hash,
            definition=taxonomy.model_dump(mode="json"),
        )
        version = make_agent_version(db, taxonomy_id=tax.id, semver="2.0.0")
        for name, (role, password) in users.items():
            db.add(User(username=name, role=role, password_hash=hash_password(password)))
        db.commit()
        version_id = version.id
    engine.dispose()
    return version_id


BULK_DECISIONS = """
WITH t AS (
  INSERT INTO tickets (id, source, external_id, subject, body, channel, metadata, received_at)
  SELECT gen_random_uuid(), 'bulk', 'b-' || i, 'Ticket ' || i, 'Body of ticket ' || i,
         CASE WHEN i %% 3 = 0 THEN 'email' ELSE 'chat' END, '{}'::jsonb,
         now() - make_interval(secs => i)
  FROM generate_series(1, %(n)s) AS i
  RETURNING id, external_id
)
INSERT INTO decisions (id, ticket_id, agent_version_id, is_final, is_shadow, queue, priority,
                       routed_to, mode, needs_review, confidence, queue_probs, priority_probs,
                       prompt_tokens, completion_tokens, cost_usd, latency_ms,
                       sampled_for_review, inclusion_prob, created_at)
SELECT gen_random_uuid(), t.id, %(version)s, true, false, 'card_payments', 'P3',
       CASE WHEN f.flagged THEN 'human_triage' ELSE 'card_payments' END,
       CASE WHEN f.flagged THEN 'low_confidence' ELSE 'agent' END,
       f.flagged, 0.8, '{"card_payments": 0.8}'::jsonb, '{"P3": 1.0}'::jsonb, 0, 0, 0, 12.5,
       f.flagged OR f.i %% 10 = 0, CASE WHEN f.flagged THEN 1.0 ELSE 0.1 END,
       now() - make_interval(secs => f.i)
FROM t, LATERAL (SELECT substr(t.external_id, 3)::int AS i) AS n,
     LATERAL (SELECT n.i, n.i %% 7 = 0 AS flagged) AS f
"""


def seed_decisions(url: str, *, n: int, version_id: uuid.UUID) -> None:
    """``n`` tickets with final decisions: every 7th flagged, every 10th of the rest sampled."""
    with psycopg.connect(url) as conn:
        conn.execute(BULK_DECISIONS, {"n": n, "version": version_id})
        conn.execute("ANALYZE")
