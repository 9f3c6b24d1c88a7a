"""Resources's use cases: each opens a unit of work, asks the aggregate, emits the event, commits."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import IntegrityError

from services.resources.db import ResourcesUnitOfWork, SearchFilters
from services.resources.domain import (
    EmailAlreadyRegistered,
    LinkState,
    Profile,
    RegistrationOutcome,
    Resource,
    Status,
)
from services.resources.links import PrivateLinks
from shared.contracts.resources import (
    ResourceConfirmationRequested,
    ResourceErased,
    ResourceProfile,
    ResourceProfileLinkRequested,
    ResourceRegistered,
    ResourceUpdated,
    ResourceWithdrawn,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")


def new_confirmation_secret() -> str:
    return secrets.token_urlsafe(32)


class ResourceHandlers:
    def __init__(
        self,
        uow_factory: Callable[[], ResourcesUnitOfWork],
        links: PrivateLinks,
        clock: Callable[[], datetime],
        new_secret: Callable[[], str] = new_confirmation_secret,
    ) -> None:
        self._uow = uow_factory
        self._links = links
        self._clock = clock
        self._new_secret = new_secret

    # --- registration and confirmation ---------------------------------------------------------------

    async def register(self, profile: Profile) -> uuid.UUID:
        """Public registration. The caller learns only an id; what differs for a known email goes by email."""
        return await _once_more_on_conflict(lambda: self._register(profile))

    async def _register(self, profile: Profile) -> uuid.UUID:
        now, secret = self._clock(), self._new_secret()
        async with self._uow() as uow:
            resource = await uow.resources.by_email(profile.email, for_update=True)
            if resource is None:
                resource = Resource.register(uuid.uuid4(), profile, secret, now)
                await uow.resources.add(resource)
                outcome = RegistrationOutcome.CONFIRMATION_SENT
            else:
                outcome = resource.register_again(profile, secret, now)
                await uow.resources.save(resource)
            if outcome is RegistrationOutcome.CONFIRMATION_SENT:
                await uow.emit(self._confirmation_requested(resource, secret))
            else:
                await uow.emit(self._profile_link_requested(resource))
            await uow.commit()
        log.info("resource.registration_received", resource_id=str(resource.id), outcome=outcome.value)
        return resource.id

    async def register_directly(self, profile: Profile, by: str) -> Resource:
        """A coordinator registers a representative: active at once, and told by email."""
        return await _once_more_on_conflict(lambda: self._register_directly(profile, by))

    async def _register_directly(self, profile: Profile, by: str) -> Resource:
        async with self._uow() as uow:
            if (existing := await uow.resources.by_email(profile.email)) is not None:
                raise EmailAlreadyRegistered(existing.id)
            resource = Resource.register_directly(uuid.uuid4(), profile, by, self._clock())
            await uow.resources.add(resource)
            await uow.emit(self._registered(resource))
            await uow.commit()
        log.info("resource.registered", resource_id=str(resource.id), by="coordinator")
        return resource

    async def confirmation_link(self, token: str) -> tuple[Resource, LinkState]:
        """What the confirmation link would do; reads only (mail scanners open every link)."""
        resource_id, secret = self._links.read_confirmation(token)
        async with self._uow() as uow:
            resource = await uow.resources.get(resource_id)
        return resource, resource.link_state(secret, self._clock())

    async def confirm(self, token: str) -> tuple[Resource, bool]:
        """The person pressed the button: (resource, whether this press confirmed it)."""
        resource_id, secret = self._links.read_confirmation(token)
        async with self._uow() as uow:
            resource = await uow.resources.get(resource_id, for_update=True)
            confirmed = resource.confirm(secret, self._clock())
            if confirmed:
                await uow.resources.save(resource)
                await uow.emit(self._registered(resource))
                await uow.commit()
        if confirmed:
            log.info("resource.registered", resource_id=str(resource.id), by="self")
        return resource, confirmed

    # --- changes, by a coordinator or through the private profile link -------------------------------

    async def update(self, resource_id: uuid.UUID, profile: Profile) -> Resource:
        async def change(uow: ResourcesUnitOfWork, resource: Resource) -> bool:
            if profile.email != resource.profile.email:
                other = await uow.resources.by_email(profile.email)
                if other is not None:
                    raise EmailAlreadyRegistered(other.id)
            resource.update(profile, self._clock())
            return True

        return await _once_more_on_conflict(lambda: self._change(resource_id, change, self._updated))

    async def pause(self, resource_id: uuid.UUID) -> Resource:
        return await self._change(resource_id, self._simple(lambda r: r.pause(self._clock())), self._updated)

    async def resume(self, resource_id: uuid.UUID) -> Resource:
        return await self._change(resource_id, self._simple(lambda r: r.resume(self._clock())), self._updated)

    async def withdraw(self, resource_id: uuid.UUID, reason: str | None) -> Resource:
        def withdrawn(resource: Resource) -> ResourceWithdrawn:
            return ResourceWithdrawn(resource_id=resource.id, reason=resource.withdrawal_reason)

        return await self._change(resource_id, self._simple(lambda r: r.withdraw(reason, self._clock())), withdrawn)

    async def erase(self, resource_id: uuid.UUID) -> None:
        """Forget the person: their row and every event about them still held here; tell the others."""
        async with self._uow() as uow:
            await uow.resources.get(resource_id, for_update=True)
            await uow.resources.erase(resource_id)
            await uow.emit(ResourceErased(resource_id=resource_id))
            await uow.commit()
        log.info("resource.erased", resource_id=str(resource_id))

    async def purge_unconfirmed(self, retention: timedelta) -> int:
        """Erase registrations never confirmed: their links expired more than `retention` ago."""
        async with self._uow() as uow:
            stale = await uow.resources.unconfirmed_since(self._clock() - retention)
        for resource_id in stale:
            await self.erase(resource_id)
        if stale:
            log.info("resource.unconfirmed_purged", count=len(stale))
        return len(stale)

    # --- reading -------------------------------------------------------------------------------------

    async def get(self, resource_id: uuid.UUID) -> Resource:
        async with self._uow() as uow:
            return await uow.resources.get(resource_id)

    async def search(
        self, filters: SearchFilters, limit: int | None = None, offset: int = 0
    ) -> tuple[list[Resource], int]:
        async with self._uow() as uow:
            return await uow.resources.search(filters, limit, offset)

    async def export(self, resource_id: uuid.UUID) -> tuple[Resource, list[dict[str, Any]]]:
        """Everything this service holds about the person: the profile and the events about them."""
        async with self._uow() as uow:
            return await uow.resources.get(resource_id), await uow.resources.events_about(resource_id)

    def profile_url(self, resource_id: uuid.UUID) -> str:
        return self._links.profile_url(resource_id)

    # --- plumbing ------------------------------------------------------------------------------------

    @staticmethod
    def _simple(move: Callable[[Resource], bool]) -> Callable[[ResourcesUnitOfWork, Resource], Awaitable[bool]]:
        async def change(_: ResourcesUnitOfWork, resource: Resource) -> bool:
            return move(resource)

        return change

    async def _change(
        self,
        resource_id: uuid.UUID,
        change: Callable[[ResourcesUnitOfWork, Resource], Awaitable[bool]],
        event: Callable[[Resource], Any],
    ) -> Resource:
        """Load with a row lock and apply; a change is saved, and told to the others once they know the person.

        A change that finds its state already reached (pausing a paused profile) does nothing.
        """
        async with self._uow() as uow:
            resource = await uow.resources.get(resource_id, for_update=True)
            if await change(uow, resource):
                await uow.resources.save(resource)
                if resource.announced:
                    await uow.emit(event(resource))
                await uow.commit()
        return resource

    def _contract_profile(self, profile: Profile) -> ResourceProfile:
        return ResourceProfile(
            name=profile.name,
            email=profile.email,
            phone=profile.phone,
            language=profile.language,
            organisation_name=profile.organisation_name,
            organisation_type=profile.organisation_type,
            organisation_number=profile.organisation_number,
            role_title=profile.role_title,
            sector=profile.sector,
            competences=profile.competences,
            tags=profile.tags,
            themes=profile.themes,
            capacity=profile.capacity,
            hours_per_month=profile.hours_per_month,
            languages=profile.languages,
        )

    def _confirmation_requested(self, resource: Resource, secret: str) -> ResourceConfirmationRequested:
        assert resource.confirmation_expires_at is not None
        return ResourceConfirmationRequested(
            resource_id=resource.id,
            name=resource.profile.name,
            email=resource.profile.email,
            language=resource.profile.language,
            confirm_url=self._links.confirm_url(resource.id, secret),
            expires_at=resource.confirmation_expires_at,
        )

    def _profile_link_requested(self, resource: Resource) -> ResourceProfileLinkRequested:
        return ResourceProfileLinkRequested(
            resource_id=resource.id,
            name=resource.profile.name,
            email=resource.profile.email,
            language=resource.profile.language,
            profile_url=self._links.profile_url(resource.id),
        )

    def _registered(self, resource: Resource) -> ResourceRegistered:
        return ResourceRegistered(
            resource_id=resource.id,
            profile=self._contract_profile(resource.profile),
            profile_url=self._links.profile_url(resource.id),
            registered_by=resource.registered_by,
        )

    def _updated(self, resource: Resource) -> ResourceUpdated:
        return ResourceUpdated(
            resource_id=resource.id,
            profile=self._contract_profile(resource.profile),
            profile_url=self._links.profile_url(resource.id),
            active=resource.status is Status.ACTIVE,
        )


async def _once_more_on_conflict(attempt: Callable[[], Awaitable[T]]) -> T:
    """A concurrent registration of the same email won the unique constraint: the second try sees it."""
    try:
        return await attempt()
    except IntegrityError:
        return await attempt()
