"""initiatives, their history, reference counters, idempotency keys."""

import sqlalchemy as sa
from alembic import op

from shared.db import BigId

revision, down_revision = "0002", "0001"


def upgrade() -> None:
    op.create_table(
        "initiatives",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("reference", sa.String(20), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("organisation_name", sa.String(200), nullable=False),
        sa.Column("organisation_type", sa.String(40), nullable=False),
        sa.Column("organisation_number", sa.String(20), nullable=True),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(320), nullable=False),
        sa.Column("contact_phone", sa.String(20), nullable=True),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("seeking", sa.JSON(), nullable=False),
        sa.Column("competences_needed", sa.JSON(), nullable=False),
        sa.Column("group_size_min", sa.Integer(), nullable=False),
        sa.Column("group_size_max", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("possible_duplicates", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_initiatives_status", "initiatives", ["status"])
    op.create_index("ix_initiatives_organisation_number", "initiatives", ["organisation_number"])
    op.create_index("ix_initiatives_submitted_at", "initiatives", ["submitted_at"])
    op.create_table(
        "initiative_history",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("initiative_id", sa.Uuid(), sa.ForeignKey("initiatives.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_initiative_history_initiative", "initiative_history", ["initiative_id", "id"])
    op.create_table(
        "reference_counters",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("initiative_id", sa.Uuid(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("reference_counters")
    op.drop_index("ix_initiative_history_initiative", table_name="initiative_history")
    op.drop_table("initiative_history")
    op.drop_index("ix_initiatives_submitted_at", table_name="initiatives")
    op.drop_index("ix_initiatives_organisation_number", table_name="initiatives")
    op.drop_index("ix_initiatives_status", table_name="initiatives")
    op.drop_table("initiatives")
