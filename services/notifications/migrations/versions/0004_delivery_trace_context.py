"""deliveries.trace_context: the W3C traceparent of the event that queued the email, so its SMTP send
joins that trace (portal POST -> Kafka -> consumers -> SMTP)."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0004_delivery_trace_context", "0003"


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("trace_context", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "trace_context")
