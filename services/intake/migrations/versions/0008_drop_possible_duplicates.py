"""initiatives.possible_duplicates goes: the duplicate hint is found when a coordinator opens an initiative
(queries.get_initiative_details), so the column only ever held [] since then."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0008", "0007"


def upgrade() -> None:
    with op.batch_alter_table("initiatives") as batch:  # SQLite drops columns by rebuilding the table
        batch.drop_column("possible_duplicates")


def downgrade() -> None:
    # The rows written meanwhile get [] (what the code of 0007 wrote), then the column is as 0002 made it.
    with op.batch_alter_table("initiatives") as batch:
        batch.add_column(sa.Column("possible_duplicates", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("initiatives") as batch:
        batch.alter_column("possible_duplicates", existing_type=sa.JSON(), existing_nullable=False, server_default=None)
