"""The CHECK on agent_versions.classifier lists the registered classifier kinds.

Until now the initial schema wrote the list out ('knn', 'llm', 'cascade'); from here it is
derived from the registry (agent/classify/kinds) when this runs, and kept in step on every later
upgrade to head (migrations/classifier_kinds.py). Downgrade restores the written-out list.

Revision ID: b2c1a55e0011
Revises: a1c0de7e0016
Create Date: 2026-12-07 07:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

from agent.classify.registry import kind_names
from migrations import classifier_kinds

revision: str = "b2c1a55e0011"
down_revision: str | None = "a1c0de7e0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    classifier_kinds.write(op.get_bind(), kind_names())


def downgrade() -> None:
    classifier_kinds.write(op.get_bind(), classifier_kinds.ORIGINAL_KINDS)
