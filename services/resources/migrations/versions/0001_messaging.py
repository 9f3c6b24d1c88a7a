"""Messaging tables (outbox, processed_events): the same first revision in every service."""

from shared.migrations_ops import create_messaging_tables as upgrade
from shared.migrations_ops import drop_messaging_tables as downgrade

revision, down_revision = "0001", None
__all__ = ["downgrade", "upgrade"]
