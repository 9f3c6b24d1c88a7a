"""coordinators' alert preferences (immediate or a daily digest); digests in the delivery log."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0003", "0002"


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("list_unsubscribe", sa.Text(), nullable=True))
    op.add_column("deliveries", sa.Column("digest_id", sa.Uuid(), nullable=True))
    op.create_index("ix_deliveries_digest_id", "deliveries", ["digest_id"])
    op.create_table(
        "coordinator_preferences",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("alert_mode", sa.String(20), nullable=False),
        sa.Column("language", sa.String(5), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("email", name="uq_coordinator_preferences_email"),
    )


def downgrade() -> None:
    op.drop_table("coordinator_preferences")
    op.drop_index("ix_deliveries_digest_id", table_name="deliveries")
    op.drop_column("deliveries", "digest_id")
    op.drop_column("deliveries", "list_unsubscribe")
