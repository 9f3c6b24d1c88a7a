"""Matching's composition root: the one place where its parts are wired together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.matching import api, consumers
from services.matching.db import MatchingUnitOfWork, PoolCache, outbox
from services.matching.domain.solver import Infeasible, SolverSettings
from services.matching.handlers import MatchingHandlers
from services.matching.links import InvitationLinks
from services.matching.settings import Settings
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

    def uow_factory() -> MatchingUnitOfWork:
        return MatchingUnitOfWork(infra.session_factory, infra.outbox, infra.relay.wake)

    handlers = MatchingHandlers(
        uow_factory,
        PoolCache(infra.session_factory),
        InvitationLinks(str(settings.public_url), settings.link_secret),
        clock,
        public_url=str(settings.public_url),
        invitation_days=settings.invitation_days,
        solver=SolverSettings(
            time_limit_seconds=settings.solver_time_limit_seconds,
            deterministic_limit=settings.solver_deterministic_limit,
        ),
    )
    consumers.subscribe(infra, uow_factory, handlers, settings.consumer_group)
    infra.run_in_background("matching-sweep", lambda: handlers.sweep_forever(settings.sweep_seconds))
    app = create_service_app(
        infra,
        title="Meet Malmö matching",
        description="Forms working groups for accepted initiatives: proposals with reasons, invitations, replacements.",
        routers=[taxonomy_router(), api.build_router(handlers, clock, settings.public_rate_limit)],
    )

    @app.exception_handler(Infeasible)
    async def infeasible(_: Request, exc: Infeasible) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "current_status": "no_group_possible"}, status_code=409)

    app.state.handlers = handlers  # tests drive the sweep through it
    return app
