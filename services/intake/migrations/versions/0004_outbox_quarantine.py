"""Outbox quarantine (quarantined_at, failure) and the purge index of processed_events: the same in every service."""

from shared.migrations_ops import add_outbox_quarantine as upgrade
from shared.migrations_ops import drop_outbox_quarantine as downgrade

revision, down_revision = "0004_outbox_quarantine", "0003"
__all__ = ["downgrade", "upgrade"]
