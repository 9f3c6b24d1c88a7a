"""initiatives.blocked_reason: what is lacking for a group, as coordinators were last told."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0003", "0002"


def upgrade() -> None:
    op.add_column("initiatives", sa.Column("blocked_reason", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("initiatives", "blocked_reason")
