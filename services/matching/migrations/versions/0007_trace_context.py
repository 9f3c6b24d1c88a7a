"""initiatives.trace_context: the traceparent of the acceptance, so the formation job's proposal stays in its trace."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "matching_trace_context", "matching_erasure"


def upgrade() -> None:
    op.add_column("initiatives", sa.Column("trace_context", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("initiatives", "trace_context")
