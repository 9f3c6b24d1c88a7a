"""What matching consumes: keep the initiatives and the pool in step with intake and resources, and act
on them: propose for an accepted initiative, and try the waiting ones again as soon as someone becomes
available. Each handler runs in the consumer's unit of work (it opens and commits it, with the event's
processed mark); like every writer, a handler takes the pool lock first."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

from services.matching.db import MatchingUnitOfWork
from services.matching.domain.group import GroupStatus, SeatStatus
from services.matching.domain.profiles import (
    ERASED_CONTACT,
    Initiative,
    InitiativeStatus,
    Resource,
    more_available,
    net_changes,
)
from services.matching.handlers.contracts import initiative_of, resource_of
from services.matching.handlers.group_life import Forming, depart, ended, locked_pool, retry_waiting
from shared.contracts import Envelope
from shared.contracts.initiatives import (
    InitiativeAccepted,
    InitiativeClosed,
    InitiativeEvent,
    InitiativeWithdrawn,
    OriginatorErased,
)
from shared.contracts.resources import ResourceErased, ResourceRegistered, ResourceUpdated, ResourceWithdrawn
from shared.erasure import SubjectKind
from shared.tracing import current_traceparent


async def on_initiative_accepted(
    event: InitiativeAccepted, uow: MatchingUnitOfWork, _: Envelope, forming: Forming
) -> None:
    """Record the acceptance; the formation job proposes for it, together with every other acceptance that
    arrived meanwhile (capacity shared, nobody booked twice), once this transaction has committed."""
    await uow.lock_pool()  # the job takes the lock too: it sees this initiative once committed
    await uow.initiatives.upsert(await _as_kept(uow, event, InitiativeStatus.ACCEPTED), forming.clock())
    if await uow.groups.live_for(event.initiative_id) is not None:
        return  # the same acceptance again: one proposal is enough
    await uow.initiatives.remember_trace(event.initiative_id, current_traceparent())
    forming.wake_formation()


async def on_acceptances(
    events: Sequence[InitiativeAccepted], uow: MatchingUnitOfWork, envelopes: Sequence[Envelope], forming: Forming
) -> None:
    """A run of acceptances from one consumed batch, recorded as a set (one erased lookup, one upsert, one look
    at live groups: the last event per initiative wins); the formation job then proposes for them together.
    Their proposals continue the trace of the run (its last acceptance's), not each their own."""
    await uow.lock_pool()  # as on_initiative_accepted
    latest = {event.initiative_id: event for event in events}
    erased = await uow.erased.among(SubjectKind.ORIGINATOR, latest)
    kept = [initiative_of(event, InitiativeStatus.ACCEPTED) for event in latest.values()]
    kept = [dataclasses.replace(i, contact=ERASED_CONTACT) if i.id in erased else i for i in kept]
    await uow.initiatives.upsert_many(kept, forming.clock())
    fresh = latest.keys() - await uow.groups.with_live_group(latest)  # the same acceptance again: one proposal
    if fresh:
        await uow.initiatives.remember_traces(fresh, current_traceparent())
        forming.wake_formation()


async def on_initiative_withdrawn(
    event: InitiativeWithdrawn, uow: MatchingUnitOfWork, _: Envelope, forming: Forming
) -> None:
    await _initiative_ended(uow, event, InitiativeStatus.WITHDRAWN, forming)


async def on_initiative_closed(event: InitiativeClosed, uow: MatchingUnitOfWork, _: Envelope, forming: Forming) -> None:
    await _initiative_ended(uow, event, InitiativeStatus.CLOSED, forming)


async def _initiative_ended(
    uow: MatchingUnitOfWork, event: InitiativeEvent, status: InitiativeStatus, forming: Forming
) -> None:
    """Its live group ends: closed (dissolved if it never formed) or, when withdrawn, dissolved; the
    people it held are free for the initiatives still waiting."""
    await uow.lock_pool()
    if await uow.initiatives.find(event.initiative_id) is None:
        return  # never accepted: matching never knew it
    at = forming.clock()
    initiative = await _as_kept(uow, event, status)
    await uow.initiatives.upsert(initiative, at)
    await uow.initiatives.set_problem(initiative.id, None)  # it waits for nothing any more
    group = await uow.groups.live_for(initiative.id)
    if group is None:
        return
    finished = group.close(at) if status is InitiativeStatus.CLOSED else group.dissolve(f"initiative {status}", at)
    if finished:
        await ended(uow, group, initiative)
        await retry_waiting(uow, forming, at)


async def on_originator_erased(event: OriginatorErased, uow: MatchingUnitOfWork, _: Envelope, forming: Forming) -> None:
    """The initiative's contact person was erased: the initiative and its group go on, their name, email and
    phone go (a later GroupFormed introduces the contact as `(erased)`, without an address), their subject is
    remembered against later or redelivered initiative events, and matching's outbox forgets them."""
    await uow.lock_pool()
    await uow.initiatives.forget_contact(event.initiative_id)
    await uow.erased.remember(SubjectKind.ORIGINATOR, event.initiative_id, forming.clock())
    await uow.sent_events.forget(SubjectKind.ORIGINATOR, event.initiative_id)


async def _as_kept(uow: MatchingUnitOfWork, event: InitiativeEvent, status: InitiativeStatus) -> Initiative:
    """The initiative as the event tells it, without its contact person once they were erased (an event
    published before the erasure can arrive after it: a redelivery, a replay from the topic)."""
    initiative = initiative_of(event, status)
    if await uow.erased.contains(SubjectKind.ORIGINATOR, event.initiative_id):
        return dataclasses.replace(initiative, contact=ERASED_CONTACT)
    return initiative


async def on_resource_registered(
    event: ResourceRegistered, uow: MatchingUnitOfWork, _: Envelope, forming: Forming
) -> None:
    await _registered(event, uow, forming)


async def _registered(event: ResourceRegistered, uow: MatchingUnitOfWork, forming: Forming) -> None:
    await uow.lock_pool()
    if await uow.erased.contains(SubjectKind.RESOURCE, event.resource_id):
        return  # erased since (a redelivery, a replay): never stored again
    at = forming.clock()
    await uow.resources.upsert(resource_of(event, active=True), at)
    await retry_waiting(uow, forming, at)


async def on_resource_updated(event: ResourceUpdated, uow: MatchingUnitOfWork, _: Envelope, forming: Forming) -> None:
    await _updated(event, uow, forming)


async def _updated(event: ResourceUpdated, uow: MatchingUnitOfWork, forming: Forming) -> None:
    await uow.lock_pool()
    if await uow.erased.contains(SubjectKind.RESOURCE, event.resource_id):
        return  # an update that arrives after the erasure brings nobody back
    at, after = forming.clock(), resource_of(event, active=event.active)
    before = await uow.resources.find(event.resource_id)
    await uow.resources.upsert(after, at)
    if more_available(before, after):
        await retry_waiting(uow, forming, at)


async def on_resource_withdrawn(
    event: ResourceWithdrawn, uow: MatchingUnitOfWork, _: Envelope, forming: Forming
) -> None:
    await _leave_everywhere(uow, event.resource_id, SeatStatus.WITHDRAWN, forming)


PoolEvent = ResourceRegistered | ResourceUpdated | ResourceWithdrawn


async def on_pool_events(
    events: Sequence[PoolEvent], uow: MatchingUnitOfWork, envelopes: Sequence[Envelope], forming: Forming
) -> None:
    """A run of registrations, updates and withdrawals from one consumed batch, applied as a set with the
    effect they have one after another (the consumer falls back to that if the run fails): the erased stay
    out, per person the last event wins (domain.profiles.net_changes), and the waiting initiatives are
    tried once if someone came free. People withdrawn from a group still forming go one event at a time:
    each departure finds its replacement."""
    await uow.lock_pool()
    erased = await uow.erased.among(SubjectKind.RESOURCE, (e.resource_id for e in events))
    withdrawing = {e.resource_id for e in events if isinstance(e, ResourceWithdrawn)} - erased
    seated = await uow.groups.holders(withdrawing, [GroupStatus.PROPOSED, GroupStatus.CONFIRMED])
    for event in events:
        if event.resource_id in seated:
            await _one_pool_event(event, uow, forming)
    rest = [e for e in events if e.resource_id not in erased and e.resource_id not in seated]
    changes = net_changes((e.resource_id, _profile_of(e)) for e in rest)
    # Who was more available after the run matters only to initiatives waiting for someone (a replay has none).
    waiting = bool(await uow.initiatives.waiting())
    registered = any(isinstance(e, ResourceRegistered) for e in rest)
    updated = {e.resource_id for e in rest if isinstance(e, ResourceUpdated)} & changes.profiles.keys()
    before = await uow.resources.many(updated) if waiting and not registered else {}
    at = forming.clock()
    await uow.resources.upsert_many(changes.profiles.values(), at)
    await uow.resources.deactivate_many(changes.withdrawn, at)
    if waiting and (registered or any(more_available(before.get(p), changes.profiles[p]) for p in updated)):
        await retry_waiting(uow, forming, at)


def _profile_of(event: PoolEvent) -> Resource | None:
    if isinstance(event, ResourceWithdrawn):
        return None
    return resource_of(event, active=event.active if isinstance(event, ResourceUpdated) else True)


async def _one_pool_event(event: PoolEvent, uow: MatchingUnitOfWork, forming: Forming) -> None:
    if isinstance(event, ResourceRegistered):
        await _registered(event, uow, forming)
    elif isinstance(event, ResourceUpdated):
        await _updated(event, uow, forming)
    else:
        await _leave_everywhere(uow, event.resource_id, SeatStatus.WITHDRAWN, forming)


async def on_resource_erased(event: ResourceErased, uow: MatchingUnitOfWork, _: Envelope, forming: Forming) -> None:
    """The person leaves every group (replaced where still forming), their row goes, their id is remembered,
    and matching's outbox forgets them: sent events naming them are deleted, waiting ones blanked."""
    await _leave_everywhere(uow, event.resource_id, SeatStatus.ERASED, forming)
    await uow.resources.erase(event.resource_id)
    await uow.erased.remember(SubjectKind.RESOURCE, event.resource_id, forming.clock())
    await uow.sent_events.forget(SubjectKind.RESOURCE, event.resource_id)


async def _leave_everywhere(
    uow: MatchingUnitOfWork, resource_id: uuid.UUID, reason: SeatStatus, forming: Forming
) -> None:
    """The person leaves every group still forming; erasure takes them out of formed groups too."""
    current = await locked_pool(uow, forming)
    at = forming.clock()
    await uow.resources.deactivate(resource_id, at)
    statuses = [GroupStatus.PROPOSED, GroupStatus.CONFIRMED]
    if reason is SeatStatus.ERASED:
        statuses.append(GroupStatus.FORMED)
    view = current.view()
    for group in await uow.groups.holding(resource_id, statuses):
        await depart(uow, view, group, group.seat_of(resource_id), reason, at, forming)
