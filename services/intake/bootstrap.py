"""Intake's composition root: the one place where its parts are wired together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from services.intake import api, consumers, schemas
from services.intake.db import IntakeUnitOfWork, outbox
from services.intake.handlers import IntakeHandlers, StatusLinks
from services.intake.settings import Settings
from shared.db import utcnow
from shared.service import Infrastructure
from shared.service import create_app as create_service_app
from shared.settings import load_settings
from shared.web import taxonomy_router


def get_settings() -> Settings:
    return load_settings(Settings)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or get_settings()
    infra = Infrastructure.build(settings, outbox)

    def uow_factory() -> IntakeUnitOfWork:
        return IntakeUnitOfWork(infra.session_factory, infra.outbox, infra.relay.wake)

    links = StatusLinks(str(settings.public_url), settings.link_secret)
    handlers = IntakeHandlers(uow_factory, links, clock, schemas.receipt)
    consumers.subscribe(infra, uow_factory, handlers)
    return create_service_app(
        infra,
        title="Meet Malmö intake",
        description="Initiatives from the portal to the coordinators.",
        routers=[taxonomy_router(), api.build_router(handlers, uow_factory, links, settings.public_rate_limit)],
    )
