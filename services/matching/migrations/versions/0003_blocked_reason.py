"""initiatives.blocked_reason: what is lacking for a group, as coordinators were last told

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("initiatives", sa.Column("blocked_reason", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("initiatives", "blocked_reason")
