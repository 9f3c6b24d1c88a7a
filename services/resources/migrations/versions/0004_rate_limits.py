"""The public rate limits' counters, in the service's own database so that every replica shares them."""

from shared.migrations_ops import create_rate_limit_table, drop_rate_limit_table

revision, down_revision = "resources_rate_limits", "0003_outbox_quarantine"


def upgrade() -> None:
    create_rate_limit_table()


def downgrade() -> None:
    drop_rate_limit_table()
