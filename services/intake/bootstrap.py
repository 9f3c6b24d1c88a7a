"""Intake's composition root: the one place where its parts are wired together."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.intake import api, consumers, metrics
from services.intake.db import IntakeUnitOfWork, ReferenceNumbers, metadata
from services.intake.handlers import HANDLERS, EraseExpiredOriginators, PurgeIdempotencyKeys
from services.intake.links import StatusLinks
from services.intake.settings import Settings
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
    references = ReferenceNumbers()  # the process's block of reference numbers

    def uow_factory() -> IntakeUnitOfWork:
        return IntakeUnitOfWork(infra.session_factory, infra.outbox, infra.relay.wake, references)

    links = StatusLinks(str(settings.platform.web_public_url), settings.link_secret, settings.link_max_age)
    bus = MessageBus(uow_factory, HANDLERS, {"clock": clock, "links": links})
    consumers.subscribe(infra, bus)
    infra.measure("kpis", metrics.kpis)
    keep = timedelta(hours=settings.idempotency_retention_hours)
    infra.run(PeriodicJob("intake-idempotency-purge", lambda: bus.handle(PurgeIdempotencyKeys(keep)), interval=3600))
    retention = EraseExpiredOriginators(timedelta(days=settings.originator_retention_days))
    infra.run(PeriodicJob("intake-originator-retention", lambda: bus.handle(retention), interval=3600))
    return create_service_app(
        infra,
        bus=bus,
        title="Meet Malmö intake",
        description="Initiatives from the portal to the coordinators.",
        routers=[taxonomy_router(), api.router],
        state={"links": links},
    )
