"""Resources's composition root: the one place where its parts are wired together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from fastapi import FastAPI

from services.resources import api, pages
from services.resources.db import ResourcesUnitOfWork, outbox
from services.resources.handlers import ResourceHandlers
from services.resources.links import PrivateLinks
from services.resources.settings import Settings
from shared.db import utcnow
from shared.service import Infrastructure
from shared.service import create_app as create_service_app
from shared.settings import load_settings
from shared.web import taxonomy_router

log = structlog.get_logger(__name__)


def get_settings() -> Settings:
    return load_settings(Settings)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or get_settings()
    infra = Infrastructure.build(settings, outbox)

    def uow_factory() -> ResourcesUnitOfWork:
        return ResourcesUnitOfWork(infra.session_factory, infra.outbox, infra.relay.wake)

    links = PrivateLinks(str(settings.public_url), settings.link_secret)
    handlers = ResourceHandlers(uow_factory, links, clock)

    async def purge_unconfirmed() -> None:
        retention = timedelta(days=settings.unconfirmed_retention_days)
        while True:
            try:
                await handlers.purge_unconfirmed(retention)
            except Exception as exc:  # the database may be away; the next round tries again
                log.warning("resource.purge_failed", error=repr(exc))
            await asyncio.sleep(settings.purge_interval_seconds)

    infra.run_in_background("purge-unconfirmed", purge_unconfirmed)
    return create_service_app(
        infra,
        title="Meet Malmö resources",
        description="The registry of people who offer time and competence.",
        routers=[
            taxonomy_router(),
            api.build_router(handlers, links, settings.public_rate_limit),
            pages.build_pages(handlers, links),
        ],
    )
