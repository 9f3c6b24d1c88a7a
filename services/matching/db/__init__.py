"""Matching's tables, its repositories, the unit of work and the in-memory pool kept in step with them.

Every writing use case first takes the pool lock (one row, `pool_version`): writers are serialised,
so once it is held the in-memory pool, brought up to date from the rows changed since it last looked,
is exactly what the database holds. Rows carry the version that last changed them.
"""

from services.matching.db.tables import metadata, outbox, processed_events
from services.matching.db.unit_of_work import MatchingUnitOfWork, PoolCache

__all__ = ["MatchingUnitOfWork", "PoolCache", "metadata", "outbox", "processed_events"]
