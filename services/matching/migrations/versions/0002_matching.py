"""matching's projections (initiatives, resources with their load), the pool version, groups and seats."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0002", "0001"


def upgrade() -> None:
    op.create_table(
        "initiatives",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("competences_needed", sa.JSON(), nullable=False),
        sa.Column("group_size_min", sa.Integer(), nullable=False),
        sa.Column("group_size_max", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("organisation_name", sa.String(200), nullable=False),
        sa.Column("organisation_type", sa.String(40), nullable=False),
        sa.Column("organisation_number", sa.String(20), nullable=True),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(320), nullable=False),
        sa.Column("contact_phone", sa.String(30), nullable=True),
        sa.Column("formation_problem", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_initiatives_status", "initiatives", ["status"])
    op.create_table(
        "resources",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("phone", sa.String(30), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("organisation_name", sa.String(200), nullable=False),
        sa.Column("organisation_type", sa.String(40), nullable=False),
        sa.Column("organisation_number", sa.String(20), nullable=True),
        sa.Column("role_title", sa.String(200), nullable=False),
        sa.Column("competences", sa.JSON(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("load", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_resources_version", "resources", ["version"])
    pool_version = op.create_table(
        "pool_version",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(pool_version, [{"id": 1, "value": 0}])
    op.create_table(
        "groups",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("initiative_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("size_min", sa.Integer(), nullable=False),
        sa.Column("target_size", sa.Integer(), nullable=False),
        sa.Column("representative_kind", sa.String(40), nullable=False),
        sa.Column("uncovered", sa.JSON(), nullable=False),
        sa.Column("solver", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.String(320), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("formed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_groups_initiative_id", "groups", ["initiative_id"])
    op.create_index("ix_groups_status", "groups", ["status"])
    op.create_table(
        "seats",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("group_id", sa.Uuid(), sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaces", sa.Uuid(), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_seats_resource_id", "seats", ["resource_id"])
    op.create_index("ix_seats_group", "seats", ["group_id", "position"])
    op.create_index("ix_seats_status_expires", "seats", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_seats_status_expires", table_name="seats")
    op.drop_index("ix_seats_group", table_name="seats")
    op.drop_index("ix_seats_resource_id", table_name="seats")
    op.drop_table("seats")
    op.drop_index("ix_groups_status", table_name="groups")
    op.drop_index("ix_groups_initiative_id", table_name="groups")
    op.drop_table("groups")
    op.drop_table("pool_version")
    op.drop_index("ix_resources_version", table_name="resources")
    op.drop_table("resources")
    op.drop_index("ix_initiatives_status", table_name="initiatives")
    op.drop_table("initiatives")
