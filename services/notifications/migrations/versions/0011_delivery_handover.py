"""when the attempt holding a delivery's lease began to hand it over: a lease that runs out before then was
never tried (given back), one that runs out after it has an unknown outcome."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "notifications_delivery_handover", "notifications_profile_versions"


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("handover_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "handover_at")
