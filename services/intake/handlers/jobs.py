"""Intake's periodic work, run by the composition root as a PeriodicJob: forgetting old Idempotency-Keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog

from services.intake.db import IntakeUnitOfWork
from shared.db import Clock

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PurgeIdempotencyKeys:
    """Forget the Idempotency-Keys older than `keep`: a portal retries within seconds, and each remembered
    receipt holds personal data. A request repeated after that is a new submission."""

    keep: timedelta


async def purge_idempotency_keys(command: PurgeIdempotencyKeys, uow: IntakeUnitOfWork, clock: Clock) -> int:
    async with uow:
        purged = await uow.initiatives.forget_receipts_before(clock() - command.keep)
        await uow.commit()
    if purged:
        log.info("idempotency_keys.purged", count=purged)
    return purged
