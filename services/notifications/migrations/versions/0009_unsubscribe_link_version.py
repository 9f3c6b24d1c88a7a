"""coordinator_preferences.link_version: the unsubscribe link names it; choosing the digest again revokes old links."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "notifications_unsubscribe_links", "notifications_erasure"


def upgrade() -> None:
    op.add_column(
        "coordinator_preferences", sa.Column("link_version", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("coordinator_preferences", "link_version")
