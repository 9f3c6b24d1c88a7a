"""Intake's tables: the initiatives with their history and private notes, reference counters, idempotency keys."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text, Uuid, func

from shared.db import BigId, Timestamp
from shared.inbox import messaging_tables
from shared.ratelimit import define_rate_limit_table

metadata, outbox, processed_events = messaging_tables()
rate_limit_counters = define_rate_limit_table(metadata)  # the public limits, shared by the replicas

initiatives = Table(
    "initiatives",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String(20), nullable=False, unique=True),
    Column("status", String(20), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("summary", String(500), nullable=False),
    Column("description", Text, nullable=False),
    Column("organisation_name", String(200), nullable=False),
    Column("organisation_type", String(40), nullable=False),
    Column("organisation_number", String(20), nullable=True, index=True),
    Column("contact_name", String(200), nullable=False),
    Column("contact_email", String(320), nullable=False),
    Column("contact_phone", String(20), nullable=True),
    Column("themes", JSON, nullable=False),
    Column("seeking", JSON, nullable=False),
    Column("competences_needed", JSON, nullable=False),
    Column("group_size_min", Integer, nullable=False),
    Column("group_size_max", Integer, nullable=False),
    Column("language", String(2), nullable=False),
    Column("lead", String(320), nullable=True, index=True),
    Column("channel", String(10), nullable=False, server_default="portal"),
    Column("registered_by", String(320), nullable=True),
    Column("status_link_version", Integer, nullable=False, server_default="0"),
    Column("submitted_at", Timestamp(), nullable=False, index=True),
    Column("updated_at", Timestamp(), nullable=False),
    Column("version", Integer, nullable=False),
)

# The duplicate hint's candidates (PostgreSQL): titles alike by trigrams (pg_trgm), found through this index
# rather than by reading every open initiative. SQLite has no such index and reads a bounded list instead.
Index(
    "ix_initiatives_title_trgm",
    func.lower(initiatives.c.title).label("title"),
    postgresql_using="gin",
    postgresql_ops={"title": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")

initiative_history = Table(
    "initiative_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("initiative_id", Uuid, ForeignKey("initiatives.id", ondelete="CASCADE"), nullable=False),
    Column("at", Timestamp(), nullable=False),
    Column("actor", String(320), nullable=False),
    Column("action", String(30), nullable=False),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=False),
    Column("note", Text, nullable=True),
)
Index("ix_initiative_history_initiative", initiative_history.c.initiative_id, initiative_history.c.id)

# The coordinators' private notes: staff only, never in the originator's view nor in an event.
initiative_notes = Table(
    "initiative_notes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("initiative_id", Uuid, ForeignKey("initiatives.id", ondelete="CASCADE"), nullable=False),
    Column("at", Timestamp(), nullable=False),
    Column("author", String(320), nullable=False),
    Column("text", Text, nullable=False),
)
Index("ix_initiative_notes_initiative", initiative_notes.c.initiative_id, initiative_notes.c.id)

# SQLite: the last reference number handed out per year; numbers are never reused. PostgreSQL takes them from
# a sequence per year (initiative_reference_<year>) instead, which no transaction waits on (gaps allowed).
reference_counters = Table(
    "reference_counters",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("last_number", Integer, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("initiative_id", Uuid, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", Timestamp(), nullable=False),
)
