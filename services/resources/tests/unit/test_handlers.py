"""The use cases through the message bus over a fake unit of work: no database, no broker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.resources.domain import EmailAlreadyRegistered, Resource, Status
from services.resources.handlers import (
    ConfirmRegistration,
    EraseResource,
    GetResource,
    PauseResource,
    PurgeUnconfirmed,
    RegisterResource,
    RegisterResourceDirectly,
    UpdateProfile,
    WithdrawResource,
)
from services.resources.tests.factories import WEB_URL, a_profile
from services.resources.tests.unit.fakes import NOW, Registry, fake_registry
from shared.contracts.resources import (
    ResourceConfirmationRequested,
    ResourceErased,
    ResourceProfileLinkRequested,
    ResourceRegistered,
    ResourceUpdated,
    ResourceWithdrawn,
)
from shared.errors import NotFound


@pytest.fixture
def registry() -> Registry:
    return fake_registry()


async def test_registering_asks_for_confirmation_and_tells_the_others_nothing_yet(registry: Registry) -> None:
    resource_id = await registry.register()

    assert await registry.status_of(resource_id) is Status.PENDING_CONFIRMATION
    [requested] = registry.uow.committed
    assert isinstance(requested, ResourceConfirmationRequested) and requested.resource_id == resource_id
    assert requested.confirm_url.startswith(f"{WEB_URL}/confirm/")
    assert requested.expires_at == NOW + timedelta(days=7)


async def test_confirming_activates_and_announces_the_resource_once(registry: Registry) -> None:
    resource_id = await registry.register()
    token = registry.confirmation_token(resource_id)

    resource, confirmed = await registry.bus.handle(ConfirmRegistration(token))
    _, confirmed_again = await registry.bus.handle(ConfirmRegistration(token))

    assert confirmed and not confirmed_again and resource.status is Status.ACTIVE
    [registered] = registry.uow.events(ResourceRegistered)
    assert registered.resource_id == resource_id and registered.registered_by == "self"
    # The event names the link's version, never the link (notifications signs it when it sends the email).
    assert (registered.profile_link_version, registered.profile_url) == (0, None)


async def test_registering_a_known_email_again_sends_the_profile_link_and_changes_nothing(registry: Registry) -> None:
    resource_id = await registry.active(email="anna@example.se")

    again = await registry.register(email="anna@example.se", name="Someone Else")

    assert again != resource_id  # the answer never names an existing profile
    assert (await registry.bus.handle(GetResource(resource_id))).profile.name == "Anna Andersson"
    [link] = registry.uow.events(ResourceProfileLinkRequested)
    assert (link.resource_id, link.profile_link_version, link.profile_url) == (resource_id, 0, None)


async def test_a_registration_that_lost_the_race_for_its_email_is_run_once_more(registry: Registry) -> None:
    repository = registry.uow.resources
    winner = await registry.register(email="anna@example.se")
    by_email = repository.by_email
    calls = 0

    async def first_misses_the_winner(email: str, *, for_update: bool = False) -> Resource | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else await by_email(email, for_update=for_update)

    repository.by_email = first_misses_the_winner  # type: ignore[method-assign]

    second = await registry.bus.handle(RegisterResource(a_profile(email="anna@example.se")))

    assert second != winner and len(repository.stored) == 1  # the second answer names nobody
    assert len(registry.uow.events(ResourceConfirmationRequested)) == 2  # the winner's, and a fresh link


async def test_a_coordinator_registers_a_representative_active_at_once(registry: Registry) -> None:
    resource = await registry.bus.handle(RegisterResourceDirectly(a_profile(), by="eva@malmo.se"))

    assert resource.status is Status.ACTIVE and resource.registered_by == "eva@malmo.se"
    [registered] = registry.uow.committed
    assert isinstance(registered, ResourceRegistered) and registered.registered_by == "eva@malmo.se"
    with pytest.raises(EmailAlreadyRegistered):
        await registry.bus.handle(RegisterResourceDirectly(a_profile(), by="eva@malmo.se"))


async def test_changes_before_confirmation_are_not_told_to_the_others(registry: Registry) -> None:
    resource_id = await registry.register()

    updated = await registry.bus.handle(UpdateProfile(resource_id, a_profile(capacity=3)))

    assert updated.profile.capacity == 3
    assert registry.uow.events(ResourceUpdated) == []


async def test_an_update_to_a_taken_email_is_refused_and_nothing_changes(registry: Registry) -> None:
    resource_id = await registry.active(email="anna@example.se")
    await registry.active(email="bo@example.se")

    with pytest.raises(EmailAlreadyRegistered):
        await registry.bus.handle(UpdateProfile(resource_id, a_profile(email="bo@example.se")))

    assert (await registry.bus.handle(GetResource(resource_id))).profile.email == "anna@example.se"
    assert registry.uow.events(ResourceUpdated) == []


async def test_pausing_tells_the_others_once_and_a_repeat_does_nothing(registry: Registry) -> None:
    resource_id = await registry.active()

    await registry.bus.handle(PauseResource(resource_id))
    await registry.bus.handle(PauseResource(resource_id))

    assert await registry.status_of(resource_id) is Status.PAUSED
    assert [e.active for e in registry.uow.events(ResourceUpdated)] == [False]


async def test_withdrawing_keeps_the_reason_and_tells_the_others(registry: Registry) -> None:
    resource_id = await registry.active()

    await registry.bus.handle(WithdrawResource(resource_id, "no time this year"))

    assert await registry.status_of(resource_id) is Status.WITHDRAWN
    [withdrawn] = registry.uow.events(ResourceWithdrawn)
    assert (withdrawn.resource_id, withdrawn.reason) == (resource_id, "no time this year")


async def test_erasing_removes_the_person_and_tells_the_others(registry: Registry) -> None:
    resource_id = await registry.active()

    await registry.bus.handle(EraseResource(resource_id))

    assert registry.uow.resources.stored == {}
    assert registry.uow.events(ResourceErased) == [ResourceErased(resource_id=resource_id)]
    with pytest.raises(NotFound):
        await registry.bus.handle(EraseResource(resource_id))


async def test_the_purge_erases_only_registrations_whose_link_expired_long_enough_ago(registry: Registry) -> None:
    forgotten = await registry.register(email="forgotten@example.se")
    kept = await registry.active(email="kept@example.se")
    registry.clock.now = NOW + timedelta(days=7, hours=1)
    recent = await registry.register(email="recent@example.se")
    purge = PurgeUnconfirmed(retention=timedelta(days=7))

    registry.clock.now = NOW + timedelta(days=14, minutes=1)
    assert await registry.bus.handle(purge) is None  # None: the periodic job waits its interval

    assert set(registry.uow.resources.stored) == {kept, recent}
    assert [e.resource_id for e in registry.uow.events(ResourceErased)] == [forgotten]
