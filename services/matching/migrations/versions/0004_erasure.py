"""erased_subjects: who was erased (ids only), so that a later event stores nobody again."""

from alembic import op

from shared.migrations_ops import create_erased_subjects_table

revision, down_revision = "0004_erasure", "0003"


def upgrade() -> None:
    create_erased_subjects_table()


def downgrade() -> None:
    op.drop_table("erased_subjects")
