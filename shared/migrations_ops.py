"""Migration operations for the tables every service has: messaging (outbox, processed_events), rate limits."""

import sqlalchemy as sa
from alembic import op

from shared.db import BigId


def create_messaging_tables() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


def add_outbox_quarantine() -> None:
    """Outbox rows the broker can never take are marked (quarantined_at, failure) instead of blocking
    the relay; the consumers' processed marks are purged by age (an index on processed_at)."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failure", sa.String(500), nullable=True))
    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"])


def drop_outbox_quarantine() -> None:
    op.drop_index("ix_processed_events_processed_at", table_name="processed_events")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("failure")
        batch.drop_column("quarantined_at")


def drop_messaging_tables() -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")


def create_rate_limit_table() -> None:
    """shared.ratelimit's counters (the public limits, shared by a service's replicas)."""
    op.create_table(
        "rate_limit_counters",
        sa.Column("scope", sa.String(100), primary_key=True),
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hits", sa.Integer(), nullable=False),
    )


def drop_rate_limit_table() -> None:
    op.drop_table("rate_limit_counters")


def create_erased_subjects_table() -> None:
    """shared.erasure's memory of erasures (ids only), in a service that keeps others' personal data."""
    op.create_table(
        "erased_subjects",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("subject_id", sa.Uuid(), primary_key=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    )
