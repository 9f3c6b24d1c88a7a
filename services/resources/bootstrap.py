"""Resources's composition root: the one place where its parts are wired together."""

from fastapi import FastAPI

from services.resources.db import outbox
from services.resources.settings import Settings
from shared.service import Infrastructure
from shared.service import create_app as create_service_app
from shared.settings import load_settings


def get_settings() -> Settings:
    return load_settings(Settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    infra = Infrastructure.build(settings, outbox)
    return create_service_app(
        infra,
        title="Meet Malmö resources",
        description="The registry of people who offer time and competence.",
        routers=[],
    )
