"""Resources's tables: the registry, the list-valued parts of each profile, and the messaging tables."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from shared.db import Timestamp
from shared.inbox import messaging_tables
from shared.ratelimit import define_rate_limit_table

metadata, outbox, processed_events = messaging_tables()
rate_limit_counters = define_rate_limit_table(metadata)  # the public limits, shared by the replicas

resources = Table(
    "resources",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("status", String(30), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("organisation_name", String(200), nullable=False),
    Column("organisation_type", String(40), nullable=False),
    Column("organisation_number", String(20), nullable=True),
    Column("role_title", String(200), nullable=False),
    Column("sector", String(1), nullable=True),
    Column("capacity", Integer, nullable=False),
    Column("hours_per_month", Integer, nullable=True),
    Column("language", String(2), nullable=False),
    Column("registered_by", String(254), nullable=False),
    Column("confirmation_digest", String(64), nullable=True),
    Column("confirmation_expires_at", Timestamp(), nullable=True),
    Column("confirmed_at", Timestamp(), nullable=True),
    Column("withdrawal_reason", Text, nullable=True),
    Column("link_version", Integer, nullable=False, server_default="0"),
    Column("created_at", Timestamp(), nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
    UniqueConstraint("email", name="uq_resources_email"),
)
Index("ix_resources_status", resources.c.status)

# The list-valued parts of a profile, one row per value, so that search filters stay plain SQL.
resource_attributes = Table(
    "resource_attributes",
    metadata,
    Column("resource_id", Uuid, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("position", Integer, nullable=False),
    Column("value", String(100), nullable=False),
    PrimaryKeyConstraint("resource_id", "kind", "position", name="pk_resource_attributes"),
    ForeignKeyConstraint(["resource_id"], ["resources.id"], ondelete="CASCADE", name="fk_resource_attributes_resource"),
)
Index("ix_resource_attributes_kind_value", resource_attributes.c.kind, resource_attributes.c.value)
