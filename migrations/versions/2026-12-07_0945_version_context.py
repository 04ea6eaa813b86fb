"""The version is the whole context: embedding model and content hash; taxonomies append-only.

Every existing version gets what it ran with written in: its params and thresholds with the
defaults filled (knn, the kind's own, and for model-backed kinds every LLM parameter, at the
values the environment gave by default), its prompt (the built-in one, with ``few_shot.k`` from
a ``params.llm.max_examples`` it may have set), the embedding model of this deployment (the one
its history was embedded with), and its content hash. The append-only trigger is held off for
this one rewrite, inside the migration's transaction. ``taxonomies`` becomes append-only too.

The downgrade drops the columns and the taxonomies' triggers; the filled-in params stay (the
older code reads them as the overrides they are).

Revision ID: c3d4e5f60017
Revises: c3d7b0d9e012
Create Date: 2026-12-07 09:45:00.000000+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from agent.classify.prompt_template import DEFAULT_TEMPLATE, FewShot
from agent.classify.registry import get_kind
from agent.config import Settings
from agent.version_context import VersionContent, resolve_params, resolve_thresholds

revision: str = "c3d4e5f60017"
down_revision: str | None = "c3d7b0d9e012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAXONOMY_TRIGGERS = """
CREATE TRIGGER taxonomies_append_only BEFORE UPDATE OR DELETE ON taxonomies
    FOR EACH ROW EXECUTE FUNCTION ticketwatch_reject_change();
CREATE TRIGGER taxonomies_no_truncate BEFORE TRUNCATE ON taxonomies
    FOR EACH STATEMENT EXECUTE FUNCTION ticketwatch_reject_change();
"""


def upgrade() -> None:
    op.add_column("agent_versions", sa.Column("embedding_model", sa.String(200), nullable=True))
    op.add_column("agent_versions", sa.Column("content_hash", sa.String(64), nullable=True))
    bind = op.get_bind()
    op.execute("ALTER TABLE agent_versions DISABLE TRIGGER agent_versions_append_only")
    rows = bind.execute(
        sa.text(
            "SELECT v.id, v.classifier, v.model, v.fallback_model, v.params, v.thresholds, "
            "t.content_hash AS taxonomy_hash FROM agent_versions v "
            "JOIN taxonomies t ON t.id = v.taxonomy_id"
        )
    ).mappings()
    embedding_model = Settings().embedding_model
    for row in list(rows):
        bind.execute(
            sa.text(
                "UPDATE agent_versions SET params = CAST(:params AS jsonb), "
                "thresholds = CAST(:thresholds AS jsonb), prompt_template = :prompt, "
                "embedding_model = :embedding_model, content_hash = :content_hash WHERE id = :id"
            ),
            {"id": row["id"], **_filled(row, embedding_model)},
        )
    op.execute("ALTER TABLE agent_versions ENABLE TRIGGER agent_versions_append_only")
    op.alter_column("agent_versions", "embedding_model", nullable=False)
    op.alter_column("agent_versions", "content_hash", nullable=False)
    op.create_index(op.f("ix_agent_versions_content_hash"), "agent_versions", ["content_hash"])
    op.execute(TAXONOMY_TRIGGERS)


def _filled(row: Any, embedding_model: str) -> dict[str, Any]:
    import json

    kind = get_kind(row["classifier"])
    params = dict(row["params"])
    llm = dict(params.get("llm", {}))
    k = llm.pop("max_examples", FewShot().k)
    if "llm" in params:
        params["llm"] = llm
    prompt = ""
    if kind.model_backed:
        template = DEFAULT_TEMPLATE.model_copy(update={"few_shot": FewShot(k=k)})
        prompt = template.to_yaml()
    content = VersionContent(
        classifier=row["classifier"],
        model=row["model"],
        fallback_model=row["fallback_model"],
        embedding_model=embedding_model,
        prompt_template=prompt,
        params=resolve_params(kind, params),
        thresholds=resolve_thresholds(dict(row["thresholds"])),
        taxonomy_hash=row["taxonomy_hash"],
    )
    return {
        "params": json.dumps(content.params),
        "thresholds": json.dumps(content.thresholds),
        "prompt": prompt,
        "embedding_model": embedding_model,
        "content_hash": content.content_hash(),
    }


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS taxonomies_append_only ON taxonomies")
    op.execute("DROP TRIGGER IF EXISTS taxonomies_no_truncate ON taxonomies")
    op.drop_index(op.f("ix_agent_versions_content_hash"), table_name="agent_versions")
    op.drop_column("agent_versions", "content_hash")
    op.drop_column("agent_versions", "embedding_model")
