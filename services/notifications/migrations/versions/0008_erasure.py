"""erased_subjects (ids only); the delivery log de-duplicates on recipient_key, which an erasure never empties."""

import sqlalchemy as sa
from alembic import op

from shared.migrations_ops import create_erased_subjects_table

revision, down_revision = "notifications_erasure", "0007_delivery_leases"

# The key of rows already in the log, as services.notifications.domain.recipient_key makes it.
BACKFILL = """
UPDATE deliveries SET recipient_key = CASE
    WHEN recipient_role = 'resource' AND resource_id IS NOT NULL THEN 'resource:' || CAST(resource_id AS VARCHAR(36))
    WHEN recipient_role = 'originator' AND initiative_id IS NOT NULL
        THEN 'originator:' || CAST(initiative_id AS VARCHAR(36))
    WHEN recipient IS NOT NULL THEN recipient_role || ':' || lower(trim(recipient))
    ELSE 'delivery:' || CAST(id AS VARCHAR(36))
END
"""


def upgrade() -> None:
    create_erased_subjects_table()
    with op.batch_alter_table("deliveries") as batch:  # SQLite changes constraints by rebuilding the table
        batch.add_column(sa.Column("recipient_key", sa.String(340), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("recipient_key", existing_type=sa.String(340), nullable=False)
        batch.drop_constraint("uq_deliveries_event_recipient_template", type_="unique")
        batch.create_unique_constraint(
            "uq_deliveries_event_template_recipient_key", ["event_id", "template", "recipient_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_event_template_recipient_key", type_="unique")
        batch.create_unique_constraint("uq_deliveries_event_recipient_template", ["event_id", "recipient", "template"])
        batch.drop_column("recipient_key")
    op.drop_table("erased_subjects")
