"""What intake consumes: matching's group events, which move the initiative's status on.

A replay finds the state already reached and changes nothing. The consumer opened the unit of work
and commits it together with the event's processed mark.
"""

from __future__ import annotations

from services.intake.db import IntakeUnitOfWork
from shared.contracts import Envelope
from shared.contracts.groups import GroupFormed, GroupProposed
from shared.db import Clock


async def on_group_proposed(event: GroupProposed, uow: IntakeUnitOfWork, envelope: Envelope, clock: Clock) -> None:
    initiative = await uow.initiatives.get(event.initiative_id, for_update=True)
    if initiative.group_proposed(clock()):
        await uow.initiatives.save(initiative)


async def on_group_formed(event: GroupFormed, uow: IntakeUnitOfWork, envelope: Envelope, clock: Clock) -> None:
    initiative = await uow.initiatives.get(event.initiative_id, for_update=True)
    if initiative.group_formed(clock()):
        await uow.initiatives.save(initiative)
