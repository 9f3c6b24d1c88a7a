"""Resources's tables, the resource repository and the unit of work."""

from services.resources.db.tables import metadata, outbox, processed_events
from services.resources.db.unit_of_work import ResourcesUnitOfWork

__all__ = ["ResourcesUnitOfWork", "metadata", "outbox", "processed_events"]
