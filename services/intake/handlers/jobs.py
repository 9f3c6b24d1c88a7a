"""Intake's periodic work, run by the composition root as PeriodicJobs: forgetting old Idempotency-Keys, and
the contact details of initiatives that ended longer ago than the retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog

from services.intake.db import IntakeUnitOfWork
from services.intake.handlers.commands import EraseOriginator, erase_originator
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


RETENTION_ACTOR = "retention"  # the history's actor of an erasure the retention job made
RETENTION_BATCH = 100


@dataclass(frozen=True)
class EraseExpiredOriginators:
    """Erase the originator's contact of the initiatives that ended (rejected, withdrawn, closed) more than
    `keep` ago, each through the same command as a coordinator's erasure (so OriginatorErased goes out)."""

    keep: timedelta


async def erase_expired_originators(command: EraseExpiredOriginators, uow: IntakeUnitOfWork, clock: Clock) -> int:
    """One initiative per transaction (the unit of work opens a fresh one on each `async with`): a failure
    leaves those before it erased, and the next run goes on."""
    cutoff = clock() - command.keep
    erased = 0
    while True:
        async with uow:
            found = await uow.initiatives.ended_with_contact_before(cutoff, RETENTION_BATCH)
            due = [i for i in found if (await uow.initiatives.get(i)).ended_before(cutoff)]
        for initiative_id in due:
            await erase_originator(EraseOriginator(initiative_id, RETENTION_ACTOR), uow, clock)
        erased += len(due)
        if len(found) < RETENTION_BATCH or not due:
            break
    if erased:
        log.info("originators.erased_after_retention", count=erased)
    return erased
