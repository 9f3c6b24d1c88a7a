"""erased_subjects: who was erased (ids only), so that a later event stores nobody again."""

from alembic import op

from shared.migrations_ops import create_erased_subjects_table

revision, down_revision = "matching_erasure", "matching_rate_limits"


def upgrade() -> None:
    create_erased_subjects_table()


def downgrade() -> None:
    op.drop_table("erased_subjects")
