"""resources.link_version: the version the profile link names, so that renewing it revokes the old links."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "resources_link_version", "resources_rate_limits"


def upgrade() -> None:
    op.add_column("resources", sa.Column("link_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("resources", "link_version")
