"""Matching's tables: the projections (initiatives, resources with their load), the pool version, groups, seats."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)

from shared.db import Timestamp
from shared.erasure import define_erased_subjects_table
from shared.inbox import messaging_tables
from shared.ratelimit import define_rate_limit_table

metadata, outbox, processed_events = messaging_tables()
rate_limit_counters = define_rate_limit_table(metadata)  # the public limits, shared by the replicas
erased_subjects = define_erased_subjects_table(metadata)  # who was erased (ids only): never stored again


def organisation_columns() -> tuple[Column[Any], ...]:
    """An organisation as given (name, type, number), the same three columns wherever matching keeps one."""
    return (
        Column("organisation_name", String(200), nullable=False),
        Column("organisation_type", String(40), nullable=False),
        Column("organisation_number", String(20), nullable=True),
    )


def contact_columns(prefix: str = "") -> tuple[Column[Any], ...]:
    """A person's name, email and phone (`contact_name`... with the prefix `contact_`)."""
    return (
        Column(f"{prefix}name", String(200), nullable=False),
        Column(f"{prefix}email", String(320), nullable=False),
        Column(f"{prefix}phone", String(30), nullable=True),
    )


initiatives = Table(
    "initiatives",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String(20), nullable=False),
    Column("title", String(200), nullable=False),
    Column("summary", String(500), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("themes", JSON, nullable=False),
    Column("competences_needed", JSON, nullable=False),
    Column("group_size_min", Integer, nullable=False),
    Column("group_size_max", Integer, nullable=False),
    Column("language", String(2), nullable=False),
    *organisation_columns(),
    *contact_columns("contact_"),
    Column("formation_problem", Text, nullable=True),  # why no group could be proposed yet
    Column("blocked_reason", JSON, nullable=True),  # what is lacking, as coordinators were last told
    Column("trace_context", String(200), nullable=True),  # traceparent of the acceptance the formation job answers
    Column("updated_at", Timestamp(), nullable=False),
)

resources = Table(
    "resources",
    metadata,
    Column("id", Uuid, primary_key=True),
    *contact_columns(),
    Column("language", String(2), nullable=False),
    *organisation_columns(),
    Column("role_title", String(200), nullable=False),
    Column("competences", JSON, nullable=False),
    Column("themes", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("load", Integer, nullable=False),  # seats in live groups: proposed, invited or accepted
    Column("version", BigInteger, nullable=False, index=True),
    Column("updated_at", Timestamp(), nullable=False),
)

# One row: the last version handed out; updating it is the pool lock every writer takes first.
pool_version = Table(
    "pool_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("initiative_id", Uuid, nullable=False, index=True),
    Column("status", String(20), nullable=False, index=True),
    Column("size_min", Integer, nullable=False),
    Column("target_size", Integer, nullable=False),
    Column("representative_kind", String(40), nullable=False),
    Column("uncovered", JSON, nullable=False),
    Column("solver", String(20), nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("confirmed_by", String(320), nullable=True),
    Column("confirmed_at", Timestamp(), nullable=True),
    Column("formed_at", Timestamp(), nullable=True),
    Column("ended_at", Timestamp(), nullable=True),
    Column("ended_reason", Text, nullable=True),
)

seats = Table(
    "seats",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("group_id", Uuid, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("resource_id", Uuid, nullable=False, index=True),
    Column("role", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("explanation", JSON, nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("replaces", Uuid, nullable=True),
    Column("invited_at", Timestamp(), nullable=True),
    Column("expires_at", Timestamp(), nullable=True),
    Column("answered_at", Timestamp(), nullable=True),
)
Index("ix_seats_group", seats.c.group_id, seats.c.position)
Index("ix_seats_status_expires", seats.c.status, seats.c.expires_at)
