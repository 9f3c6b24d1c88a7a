"""The events this service publishes about a resource, built from the aggregate (and its confirmation link).

The profile link travels in no event: they name its version, and notifications signs the link when it sends."""

from __future__ import annotations

from services.resources.domain import Profile, Resource, Status
from services.resources.links import PrivateLinks
from shared.contracts.resources import (
    ProfileLinkReason,
    ResourceConfirmationRequested,
    ResourceProfile,
    ResourceProfileLinkRequested,
    ResourceRegistered,
    ResourceUpdated,
    ResourceWithdrawn,
)


def _contract_profile(profile: Profile) -> ResourceProfile:
    return ResourceProfile.model_validate(profile, from_attributes=True)


def confirmation_requested(resource: Resource, secret: str, links: PrivateLinks) -> ResourceConfirmationRequested:
    assert resource.confirmation_expires_at is not None
    return ResourceConfirmationRequested(
        resource_id=resource.id,
        name=resource.profile.name,
        email=resource.profile.email,
        language=resource.profile.language,
        confirm_url=links.confirmation.url(resource.id, secret),
        expires_at=resource.confirmation_expires_at,
    )


def profile_link_requested(resource: Resource, reason: ProfileLinkReason) -> ResourceProfileLinkRequested:
    return ResourceProfileLinkRequested(
        resource_id=resource.id,
        name=resource.profile.name,
        email=resource.profile.email,
        language=resource.profile.language,
        profile_link_version=resource.link_version,
        reason=reason,
    )


def registered(resource: Resource) -> ResourceRegistered:
    return ResourceRegistered(
        resource_id=resource.id,
        profile=_contract_profile(resource.profile),
        profile_link_version=resource.link_version,
        registered_by=resource.registered_by,
    )


def updated(resource: Resource) -> ResourceUpdated:
    return ResourceUpdated(
        resource_id=resource.id, profile=_contract_profile(resource.profile), active=resource.status is Status.ACTIVE
    )


def withdrawn(resource: Resource) -> ResourceWithdrawn:
    return ResourceWithdrawn(resource_id=resource.id, reason=resource.withdrawal_reason)
