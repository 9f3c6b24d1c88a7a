"""delivery log, mentions of resources in it, resources' profile links."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0002", "0001"


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=True),
        sa.Column("recipient_role", sa.String(20), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=True),
        sa.Column("initiative_id", sa.Uuid(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erase_content_when_done", sa.Boolean(), nullable=False),
        sa.Column("erase_recipient_when_done", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("event_id", "recipient", "template", name="uq_deliveries_event_recipient_template"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])
    op.create_index("ix_deliveries_resource_id", "deliveries", ["resource_id"])
    op.create_index("ix_deliveries_initiative_id", "deliveries", ["initiative_id"])
    op.create_table(
        "delivery_mentions",
        sa.Column("delivery_id", sa.Uuid(), sa.ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("resource_id", sa.Uuid(), primary_key=True),
    )
    op.create_index("ix_delivery_mentions_resource_id", "delivery_mentions", ["resource_id"])
    op.create_table(
        "resource_profiles",
        sa.Column("resource_id", sa.Uuid(), primary_key=True),
        sa.Column("profile_url", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("resource_profiles")
    op.drop_index("ix_delivery_mentions_resource_id", table_name="delivery_mentions")
    op.drop_table("delivery_mentions")
    op.drop_index("ix_deliveries_initiative_id", table_name="deliveries")
    op.drop_index("ix_deliveries_resource_id", table_name="deliveries")
    op.drop_index("ix_deliveries_created_at", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_table("deliveries")
