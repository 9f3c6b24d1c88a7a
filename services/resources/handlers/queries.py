"""Resources's reads: staff search and detail, the person's own view and export, a confirmation link's state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.resources.db import ResourcesUnitOfWork
from services.resources.domain import LinkState, Resource, SearchFilters
from services.resources.handlers.commands import AboutResource
from services.resources.links import PrivateLinks
from shared.db import Clock


@dataclass(frozen=True)
class FindResources:
    """One page of the resources that pass the filters, by name, and how many pass in all."""

    filters: SearchFilters
    limit: int | None = None
    offset: int = 0


class GetResource(AboutResource):
    """The resource with its profile."""


class ExportPersonalData(AboutResource):
    """Everything this service holds about the person: the profile and the events about them."""


@dataclass(frozen=True)
class ReadConfirmationLink:
    """What the confirmation link would do; reads only (mail scanners open every link)."""

    token: str


async def find_resources(query: FindResources, uow: ResourcesUnitOfWork) -> tuple[list[Resource], int]:
    async with uow:
        return await uow.resources.search(query.filters, query.limit, query.offset)


async def get_resource(query: GetResource, uow: ResourcesUnitOfWork) -> Resource:
    async with uow:
        return await uow.resources.get(query.resource_id)


async def export_personal_data(
    query: ExportPersonalData, uow: ResourcesUnitOfWork
) -> tuple[Resource, list[dict[str, Any]]]:
    async with uow:
        return await uow.resources.get(query.resource_id), await uow.resources.events_about(query.resource_id)


async def read_confirmation_link(
    query: ReadConfirmationLink, uow: ResourcesUnitOfWork, clock: Clock, links: PrivateLinks
) -> tuple[Resource, LinkState]:
    resource_id, secret = links.read_confirmation(query.token)
    async with uow:
        resource = await uow.resources.get(resource_id)
    return resource, resource.link_state(secret, clock())
