"""Resources's composition root: the one place where its parts are wired together."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.resources import api, metrics
from services.resources.db import ResourcesUnitOfWork, metadata
from services.resources.handlers import HANDLERS, PurgeUnconfirmed
from services.resources.links import PrivateLinks
from services.resources.settings import Settings
from shared.db import Clock, utcnow
from shared.jobs import PeriodicJob
from shared.messagebus import MessageBus
from shared.service import Infrastructure
from shared.service import create_app as create_service_app
from shared.settings import load_settings
from shared.web import taxonomy_router


def get_settings() -> Settings:
    return load_settings(Settings)


def create_app(settings: Settings | None = None, clock: Clock = utcnow) -> FastAPI:
    settings = settings or get_settings()
    infra = Infrastructure.build(settings, metadata)

    def uow_factory() -> ResourcesUnitOfWork:
        return ResourcesUnitOfWork(infra.session_factory, infra.outbox, infra.relay.wake)

    # The profile link is signed with the platform's key (notifications signs it too, at send time); the links
    # mailed before it had a key of its own were signed with RESOURCES_LINK_SECRET, kept as the previous key.
    links = PrivateLinks(
        str(settings.platform.web_public_url),
        settings.link_secret,
        settings.link_max_age,
        previous_secrets=[settings.link_secret],
        profile_secret=settings.platform.profile_link_key,
    )
    bus = MessageBus(uow_factory, HANDLERS, {"clock": clock, "links": links})
    purge = PurgeUnconfirmed(retention=timedelta(days=settings.unconfirmed_retention_days))
    infra.run(PeriodicJob("purge-unconfirmed", lambda: bus.handle(purge), interval=settings.purge_interval_seconds))
    infra.measure("kpis", metrics.kpis)
    return create_service_app(
        infra,
        bus=bus,
        title="Meet Malmö resources",
        description="The registry of people who offer time and competence.",
        routers=[taxonomy_router(), api.router],
        state={"links": links},
    )
