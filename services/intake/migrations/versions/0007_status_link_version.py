"""initiatives.status_link_version: the version the status link names, so re-issuing it revokes the old links."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0007", "0006"


def upgrade() -> None:
    op.add_column("initiatives", sa.Column("status_link_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("initiatives", "status_link_version")
