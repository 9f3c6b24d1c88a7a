"""Resources's periodic work: registrations nobody confirmed do not keep their personal data forever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog

from services.resources.db import ResourcesUnitOfWork
from services.resources.handlers.commands import EraseResource, erase
from shared.db import Clock

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PurgeUnconfirmed:
    """Erase registrations never confirmed whose links expired more than `retention` ago."""

    retention: timedelta


async def purge_unconfirmed(job: PurgeUnconfirmed, uow: ResourcesUnitOfWork, clock: Clock) -> None:
    """Returns nothing, so that the periodic job waits its interval before the next round."""
    async with uow:
        stale = await uow.resources.unconfirmed_since(clock() - job.retention)
    for resource_id in stale:  # each erasure is its own transaction, as a person's own would be
        await erase(EraseResource(resource_id), uow)
    if stale:
        log.info("resource.unconfirmed_purged", count=len(stale))
