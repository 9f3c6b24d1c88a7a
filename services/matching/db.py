"""Matching's tables, its repository and unit of work."""

from sqlalchemy import MetaData

from shared.inbox import define_processed_events_table
from shared.outbox import define_outbox_table

metadata = MetaData()
outbox = define_outbox_table(metadata)
processed_events = define_processed_events_table(metadata)
