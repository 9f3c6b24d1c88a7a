"""Notifications's tables.

deliveries is the delivery log: one row per (event, template, recipient_key), so a redelivered event
queues nothing twice, even once the recipient's address is erased (the key names a resource or an
initiative by id, never by an address that can become NULL). erased_subjects remembers who was erased
(ids only) so that a later event about them queues nothing. delivery_mentions names the resources
whose personal data a delivery's text shows, so that erasing a person also clears other people's copies
of it. resource_profiles keeps the version of each resource's private profile link for the footer of later
emails (never the link: a delivery's text holds a placeholder, and the sender signs the link in at send time
from the delivery's resource_id and profile_link_version). coordinator_preferences keeps
how each coordinator wants their alerts (one by one, or a daily digest) and in which language; a
digest is a delivery of its own, and each alert it carried points to it (digest_id).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from shared.db import Timestamp
from shared.erasure import define_erased_subjects_table
from shared.inbox import messaging_tables
from shared.ratelimit import define_rate_limit_table

metadata, outbox, processed_events = messaging_tables()
rate_limit_counters = define_rate_limit_table(metadata)  # the public limits, shared by the replicas
erased_subjects = define_erased_subjects_table(metadata)  # resources and originators: ids only

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("template", String(60), nullable=False),
    Column("recipient", String(320), nullable=True),  # NULL once erased
    Column("recipient_role", String(20), nullable=False),
    Column("recipient_key", String(340), nullable=False),  # a resource's or initiative's id, a coordinator's address
    Column("language", String(5), nullable=False),
    Column("resource_id", Uuid, nullable=True),
    Column("initiative_id", Uuid, nullable=True),
    Column("subject", Text, nullable=False),
    Column("body_text", Text, nullable=True),
    Column("body_html", Text, nullable=True),
    Column("message_id", String(255), nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", Timestamp(), nullable=True),
    Column("sent_at", Timestamp(), nullable=True),
    Column("erase_content_when_done", Boolean, nullable=False),
    Column("erase_recipient_when_done", Boolean, nullable=False),
    Column("list_unsubscribe", Text, nullable=True),
    Column("digest_id", Uuid, nullable=True),
    Column("trace_context", String(200), nullable=True),  # traceparent of the event that queued it
    Column("lease_token", Uuid, nullable=True),  # the sender attempt holding it, until next_attempt_at
    Column("handover_at", Timestamp(), nullable=True),  # when that attempt began to hand it to the server
    Column("failures", Integer, nullable=False, server_default="0"),  # attempts that count towards giving up
    Column("profile_link_version", Integer, nullable=True),  # the text holds the profile link's placeholder
    Column("created_at", Timestamp(), nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
    UniqueConstraint("event_id", "template", "recipient_key", name="uq_deliveries_event_template_recipient_key"),
)
Index("ix_deliveries_due", deliveries.c.status, deliveries.c.next_attempt_at)
Index("ix_deliveries_created_at", deliveries.c.created_at)
Index("ix_deliveries_resource_id", deliveries.c.resource_id)
Index("ix_deliveries_initiative_id", deliveries.c.initiative_id)
Index("ix_deliveries_digest_id", deliveries.c.digest_id)

delivery_mentions = Table(
    "delivery_mentions",
    metadata,
    Column("delivery_id", Uuid, ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True),
    Column("resource_id", Uuid, primary_key=True),
)
Index("ix_delivery_mentions_resource_id", delivery_mentions.c.resource_id)

resource_profiles = Table(
    "resource_profiles",
    metadata,
    Column("resource_id", Uuid, primary_key=True),
    Column("link_version", Integer, nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
)

coordinator_preferences = Table(
    "coordinator_preferences",
    metadata,
    Column("id", Uuid, primary_key=True),  # what the unsubscribe link names (never the address)
    Column("email", String(320), nullable=False),  # lower case
    Column("alert_mode", String(20), nullable=False),
    Column("language", String(5), nullable=True),
    Column("updated_at", Timestamp(), nullable=False),
    Column("link_version", Integer, nullable=False, server_default="0"),  # what the unsubscribe link names
    UniqueConstraint("email", name="uq_coordinator_preferences_email"),
)
