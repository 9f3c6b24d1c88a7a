"""resources and their list-valued attributes (competences, tags, themes, languages)."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0002", "0001"


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("organisation_name", sa.String(200), nullable=False),
        sa.Column("organisation_type", sa.String(40), nullable=False),
        sa.Column("organisation_number", sa.String(20), nullable=True),
        sa.Column("role_title", sa.String(200), nullable=False),
        sa.Column("sector", sa.String(1), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("hours_per_month", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("registered_by", sa.String(254), nullable=False),
        sa.Column("confirmation_digest", sa.String(64), nullable=True),
        sa.Column("confirmation_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("email", name="uq_resources_email"),
    )
    op.create_index("ix_resources_status", "resources", ["status"])
    op.create_table(
        "resource_attributes",
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", "kind", "position", name="pk_resource_attributes"),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], ondelete="CASCADE", name="fk_resource_attributes_resource"
        ),
    )
    op.create_index("ix_resource_attributes_kind_value", "resource_attributes", ["kind", "value"])


def downgrade() -> None:
    op.drop_index("ix_resource_attributes_kind_value", table_name="resource_attributes")
    op.drop_table("resource_attributes")
    op.drop_index("ix_resources_status", table_name="resources")
    op.drop_table("resources")
