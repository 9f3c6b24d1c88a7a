"""Matching's composition root: the one place where its parts are wired together."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.matching import api, consumers, metrics
from services.matching.db import MatchingUnitOfWork, PoolCache, metadata
from services.matching.domain.solver import Infeasible, SolverSettings
from services.matching.handlers import HANDLERS, Forming, ProposeAccepted, PurgeSentEvents, SweepGroups
from services.matching.links import InvitationLinks
from services.matching.settings import Settings
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

    def uow_factory() -> MatchingUnitOfWork:
        return MatchingUnitOfWork(infra.session_factory, infra.outbox, infra.relay.wake)

    web_url = str(settings.platform.web_public_url).rstrip("/")  # where the links in the events open pages
    # Proposals for accepted initiatives, as one batch per round: an acceptance wakes it after the consumer
    # recorded it; the interval is only the fallback.
    formation = PeriodicJob("matching-formation", lambda: bus.handle(ProposeAccepted()), interval=5.0)
    forming = Forming(
        pool=PoolCache(uow_factory),
        clock=clock,
        links=InvitationLinks(web_url, settings.link_secret, settings.link_max_age),
        web_url=web_url,
        invitation_validity=timedelta(days=settings.invitation_days),
        solver=SolverSettings(
            time_limit_seconds=settings.solver_time_limit_seconds,
            deterministic_limit=settings.solver_deterministic_limit,
        ),
        wake_formation=formation.wake,
    )
    bus = MessageBus(uow_factory, HANDLERS, {"forming": forming})
    consumers.subscribe(infra, bus, settings.consumer_group)

    sweep = PeriodicJob(
        "matching-sweep",
        lambda: bus.handle(SweepGroups()),
        interval=settings.sweep_seconds,
        first_after=settings.sweep_seconds,
    )
    infra.run(sweep)
    infra.run(formation)
    infra.measure("kpis", metrics.kpis)
    keep = timedelta(seconds=settings.outbox_keep_published_seconds)
    purge_interval = max(1.0, min(60.0, settings.outbox_keep_published_seconds / 2))
    infra.run(PeriodicJob("matching-outbox-purge", lambda: bus.handle(PurgeSentEvents(keep)), interval=purge_interval))
    app = create_service_app(
        infra,
        bus=bus,
        title="Meet Malmö matching",
        description="Forms working groups for accepted initiatives: proposals with reasons, invitations, replacements.",
        routers=[taxonomy_router(), api.router],
        state={"clock": clock},  # the invitation routes show expiry against the service's clock
    )
    app.exception_handler(Infeasible)(api.infeasible)
    return app
