"""What intake consumes: its own InitiativeSubmitted, to note the duplicate hint after the submission
committed; matching's group events, which move the initiative's status on.

A replay finds the state already reached and changes nothing. The consumer opened the unit of work
and commits it together with the event's processed mark.
"""

from __future__ import annotations

from services.intake.db import IntakeUnitOfWork
from services.intake.domain import likely_duplicates
from shared.contracts import Envelope
from shared.contracts.groups import GroupFormed, GroupProposed
from shared.contracts.initiatives import InitiativeSubmitted
from shared.db import Clock
from shared.errors import NotFound


async def note_possible_duplicates(event: InitiativeSubmitted, uow: IntakeUnitOfWork, envelope: Envelope) -> None:
    """The open initiatives that look like the same idea, the best few, noted for coordinators. Off the
    portal's request path: the originator's 201 never waits for it. An initiative gone meanwhile (erased)
    needs no hint."""
    try:
        itself, candidates = await uow.initiatives.duplicate_candidates(event.initiative_id)
    except NotFound:
        return
    found = likely_duplicates(itself.title, itself.summary, itself.organisation_number, candidates)
    await uow.initiatives.note_possible_duplicates(event.initiative_id, found)


async def on_group_proposed(event: GroupProposed, uow: IntakeUnitOfWork, envelope: Envelope, clock: Clock) -> None:
    initiative = await uow.initiatives.get(event.initiative_id, for_update=True)
    if initiative.group_proposed(clock()):
        await uow.initiatives.save(initiative)


async def on_group_formed(event: GroupFormed, uow: IntakeUnitOfWork, envelope: Envelope, clock: Clock) -> None:
    initiative = await uow.initiatives.get(event.initiative_id, for_update=True)
    if initiative.group_formed(clock()):
        await uow.initiatives.save(initiative)
