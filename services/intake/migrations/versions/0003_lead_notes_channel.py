"""initiatives.lead, .channel and .registered_by; the coordinators' private notes."""

import sqlalchemy as sa
from alembic import op

from shared.db import BigId

revision, down_revision = "0003", "0002"


def upgrade() -> None:
    op.add_column("initiatives", sa.Column("lead", sa.String(320), nullable=True))
    op.create_index("ix_initiatives_lead", "initiatives", ["lead"])
    # Every initiative before this came through the portal.
    op.add_column("initiatives", sa.Column("channel", sa.String(10), nullable=False, server_default="portal"))
    op.add_column("initiatives", sa.Column("registered_by", sa.String(320), nullable=True))
    op.create_table(
        "initiative_notes",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("initiative_id", sa.Uuid(), sa.ForeignKey("initiatives.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_initiative_notes_initiative", "initiative_notes", ["initiative_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_initiative_notes_initiative", table_name="initiative_notes")
    op.drop_table("initiative_notes")
    with op.batch_alter_table("initiatives") as batch:  # SQLite drops columns by rebuilding the table
        batch.drop_index("ix_initiatives_lead")
        batch.drop_column("registered_by")
        batch.drop_column("channel")
        batch.drop_column("lead")
