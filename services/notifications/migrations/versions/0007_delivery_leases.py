"""the sender's lease on a delivery (which attempt holds it), and the attempts that count towards giving up."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0007_delivery_leases", "notifications_rate_limits"


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("lease_token", sa.Uuid(), nullable=True))
    op.add_column("deliveries", sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("deliveries", "failures")
    op.drop_column("deliveries", "lease_token")
