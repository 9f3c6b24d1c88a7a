"""Resources's commands: each handler opens the unit of work, asks the aggregate, emits the event, commits."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError

from services.resources.db import ResourcesUnitOfWork
from services.resources.domain import EmailAlreadyRegistered, Profile, RegistrationOutcome, Resource, Status
from services.resources.handlers import outgoing_events
from services.resources.links import PrivateLinks
from shared.contracts import Event
from shared.contracts.resources import ProfileLinkReason, ResourceErased
from shared.db import Clock
from shared.messagebus import retry_once_on

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RegisterResource:
    """Public registration; the answer is only an id (what differs for a known email goes by email)."""

    profile: Profile


@dataclass(frozen=True)
class RegisterResourceDirectly:
    """A coordinator registers a representative: active at once, and told by email."""

    profile: Profile
    by: str


@dataclass(frozen=True)
class ConfirmRegistration:
    """The person pressed the button behind the confirmation link."""

    token: str


@dataclass(frozen=True)
class AboutResource:
    """A command or query about one resource; one that needs nothing more is this with a name of its own."""

    resource_id: uuid.UUID


@dataclass(frozen=True)
class UpdateProfile(AboutResource):
    profile: Profile


class PauseResource(AboutResource):
    """No invitations until it is resumed; pausing a paused profile does nothing."""


class ResumeResource(AboutResource):
    """Back in the pool; resuming an active profile does nothing."""


@dataclass(frozen=True)
class WithdrawResource(AboutResource):
    """Leave the pool; the profile stays until it is erased."""

    reason: str | None = None


class RenewProfileLink(AboutResource):
    """Through the profile link: a fresh link by email, and every link sent before stops working."""


class EraseResource(AboutResource):
    """Forget the person: their row and every event about them still held here; tell the others."""


@dataclass(frozen=True)
class RequestProfileLink:
    """Someone asks for a new profile link by email (theirs expired): only the address's owner gets it."""

    email: str


def new_confirmation_secret() -> str:
    return secrets.token_urlsafe(32)


@retry_once_on(IntegrityError)  # a concurrent writer took the email first: the second run sees it
async def register(command: RegisterResource, uow: ResourcesUnitOfWork, clock: Clock, links: PrivateLinks) -> uuid.UUID:
    """The receipt's id: the new resource's, or for a known email a fresh one that names nobody, so that the
    answer never tells whether an address is registered nor hands out someone's id."""
    now, secret = clock(), new_confirmation_secret()
    async with uow:
        resource = await uow.resources.by_email(command.profile.email, for_update=True)
        known = resource is not None
        if resource is None:
            resource = Resource.register(uuid.uuid4(), command.profile, secret, now)
            await uow.resources.add(resource)
            outcome = RegistrationOutcome.CONFIRMATION_SENT
        else:
            outcome = resource.register_again(secret, now)
            await uow.resources.save(resource)
        if outcome is RegistrationOutcome.CONFIRMATION_SENT:
            await uow.emit(outgoing_events.confirmation_requested(resource, secret, links))
        else:
            await uow.emit(outgoing_events.profile_link_requested(resource, ProfileLinkReason.REGISTERED_AGAIN))
        await uow.commit()
    log.info("resource.registration_received", resource_id=str(resource.id), outcome=outcome.value)
    return uuid.uuid4() if known else resource.id


async def request_profile_link(command: RequestProfileLink, uow: ResourcesUnitOfWork) -> None:
    """An active or paused resource with this email gets its profile link by email (the same email as when
    they register again); for any other address nothing happens, and the caller's answer is the same."""
    async with uow:
        resource = await uow.resources.by_email(command.email)
        if resource is not None and resource.status in {Status.ACTIVE, Status.PAUSED}:
            await uow.emit(outgoing_events.profile_link_requested(resource, ProfileLinkReason.ASKED))
            await uow.commit()
            log.info("resource.profile_link_requested", resource_id=str(resource.id))


async def renew_profile_link(command: RenewProfileLink, uow: ResourcesUnitOfWork, clock: Clock) -> None:
    async with uow:
        resource = await uow.resources.get(command.resource_id, for_update=True)
        resource.renew_link(clock())
        await uow.resources.save(resource)
        await uow.emit(outgoing_events.profile_link_requested(resource, ProfileLinkReason.RENEWED))  # to the owner
        await uow.commit()
    log.info("resource.profile_link_renewed", resource_id=str(resource.id), link_version=resource.link_version)


@retry_once_on(IntegrityError)  # a concurrent writer took the email first: the second run sees it
async def register_directly(command: RegisterResourceDirectly, uow: ResourcesUnitOfWork, clock: Clock) -> Resource:
    async with uow:
        if (existing := await uow.resources.by_email(command.profile.email)) is not None:
            raise EmailAlreadyRegistered(existing.id)
        resource = Resource.register_directly(uuid.uuid4(), command.profile, command.by, clock())
        await uow.resources.add(resource)
        await uow.emit(outgoing_events.registered(resource))
        await uow.commit()
    log.info("resource.registered", resource_id=str(resource.id), by="coordinator")
    return resource


async def confirm(
    command: ConfirmRegistration, uow: ResourcesUnitOfWork, clock: Clock, links: PrivateLinks
) -> tuple[Resource, bool]:
    """(resource, whether this press confirmed it); a second press finds it confirmed and does nothing."""
    resource_id, secret = links.read_confirmation(command.token)
    async with uow:
        resource = await uow.resources.get(resource_id, for_update=True)
        confirmed = resource.confirm(secret, clock())
        if confirmed:
            await uow.resources.save(resource)
            await uow.emit(outgoing_events.registered(resource))
            await uow.commit()
    if confirmed:
        log.info("resource.registered", resource_id=str(resource.id), by="self")
    return resource, confirmed


@retry_once_on(IntegrityError)  # a concurrent writer took the email first: the second run sees it
async def update_profile(
    command: UpdateProfile, uow: ResourcesUnitOfWork, clock: Clock, links: PrivateLinks
) -> Resource:
    async with uow:
        resource = await uow.resources.get(command.resource_id, for_update=True)
        changes_email = command.profile.email != resource.profile.email
        if changes_email and (other := await uow.resources.by_email(command.profile.email)) is not None:
            raise EmailAlreadyRegistered(other.id)
        resource.update(command.profile, clock())
        await _save_and_tell(uow, resource, outgoing_events.updated(resource))
    return resource


async def pause(command: PauseResource, uow: ResourcesUnitOfWork, clock: Clock, links: PrivateLinks) -> Resource:
    return await _change(uow, command.resource_id, lambda r: r.pause(clock()), lambda r: outgoing_events.updated(r))


async def resume(command: ResumeResource, uow: ResourcesUnitOfWork, clock: Clock, links: PrivateLinks) -> Resource:
    return await _change(uow, command.resource_id, lambda r: r.resume(clock()), lambda r: outgoing_events.updated(r))


async def withdraw(command: WithdrawResource, uow: ResourcesUnitOfWork, clock: Clock) -> Resource:
    return await _change(
        uow, command.resource_id, lambda r: r.withdraw(command.reason, clock()), outgoing_events.withdrawn
    )


async def erase(command: EraseResource, uow: ResourcesUnitOfWork) -> None:
    async with uow:
        await uow.resources.get(command.resource_id, for_update=True)
        await uow.resources.erase(command.resource_id)
        await uow.emit(ResourceErased(resource_id=command.resource_id))
        await uow.commit()
    log.info("resource.erased", resource_id=str(command.resource_id))


async def _change(
    uow: ResourcesUnitOfWork,
    resource_id: uuid.UUID,
    move: Callable[[Resource], bool],
    event: Callable[[Resource], Event],
) -> Resource:
    """Load with a row lock and make the move; a move that finds its state already reached (pausing a
    paused profile) does nothing."""
    async with uow:
        resource = await uow.resources.get(resource_id, for_update=True)
        if move(resource):
            await _save_and_tell(uow, resource, event(resource))
    return resource


async def _save_and_tell(uow: ResourcesUnitOfWork, resource: Resource, event: Event) -> None:
    """Save the change; tell it to the others once they know the person (after ResourceRegistered)."""
    await uow.resources.save(resource)
    if resource.announced:
        await uow.emit(event)
    await uow.commit()
