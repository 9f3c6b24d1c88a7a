"""Notifications's composition root: the one place where its parts are wired together."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import structlog
from fastapi import FastAPI

from services.notifications import api, consumers, metrics
from services.notifications.adapters.rendering import Renderer
from services.notifications.adapters.smtp import SmtpMailer, sender_domain
from services.notifications.db.tables import metadata
from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.domain import Mailer, Outage, RetryPolicy
from services.notifications.handlers import HANDLERS, PurgeDeliveryBodies, QueueDueDigests, SendDueEmails
from services.notifications.handlers.jobs import Unrecorded
from services.notifications.links import UnsubscribeLinks
from services.notifications.settings import Settings
from shared.contracts.links import profile_link
from shared.db import Clock, utcnow
from shared.jobs import Backoff, PeriodicJob
from shared.messagebus import MessageBus
from shared.service import Infrastructure
from shared.service import create_app as create_service_app
from shared.settings import load_settings

log = structlog.get_logger(__name__)


def get_settings() -> Settings:
    return load_settings(Settings)


def smtp_mailer(settings: Settings, clock: Clock) -> SmtpMailer:
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.sender,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.starttls,
        timeout_seconds=settings.smtp_timeout_seconds,
        connections=settings.smtp_connections,
        clock=clock,
    )


class SenderJob(PeriodicJob):
    """The sender's loop; when it stops, the mailer says goodbye on the SMTP connections it kept."""

    def __init__(self, mailer: Mailer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mailer = mailer

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            await self._mailer.close()


def create_app(settings: Settings | None = None, mailer: Mailer | None = None, *, clock: Clock = utcnow) -> FastAPI:
    settings = settings or get_settings()
    if not settings.coordinator_emails:
        log.warning("notifications.no_coordinators", setting="NOTIFICATIONS_COORDINATOR_EMAILS")
    infra = Infrastructure.build(settings, metadata)
    links = UnsubscribeLinks(str(settings.platform.web_public_url), settings.link_secret, settings.link_max_age)
    mailer = metrics.TimedMailer(mailer or smtp_mailer(settings, clock), infra.metrics.registry)
    # The sender polls, and a commit that queued deliveries wakes it; while the database is away it backs off.
    sender = SenderJob(
        mailer,
        "delivery-sender",
        lambda: bus.handle(SendDueEmails(parallel=settings.smtp_connections)),
        interval=settings.send_poll_seconds,
        backoff=Backoff(initial=0.5, maximum=30.0),
    )
    # At the digest hour (and at start, catching up a day whose hour passed); held alerts wait out an outage.
    digests = PeriodicJob(
        "daily-digest", lambda: bus.handle(QueueDueDigests()), interval=3600.0, backoff=Backoff(30.0, 30.0)
    )
    # Hourly: the texts of emails long done go (they hold personal data); the log entries stay.
    keep_bodies = timedelta(days=settings.body_retention_days)
    body_purge = PeriodicJob(
        "delivery-body-purge",
        lambda: bus.handle(PurgeDeliveryBodies(keep_bodies)),
        interval=3600.0,
        backoff=Backoff(30.0, 300.0),
    )
    uow_factory = partial(NotificationsUnitOfWork, infra.session_factory, infra.outbox, infra.relay.wake, sender.wake)
    bus: MessageBus[NotificationsUnitOfWork] = MessageBus(
        uow_factory,
        HANDLERS,
        {
            "clock": clock,
            "links": links,
            "renderer": Renderer(),
            "new_uow": uow_factory,
            "mailer": mailer,
            "policy": RetryPolicy(
                settings.send_max_attempts,
                settings.retry_base_seconds,
                settings.retry_max_seconds,
                timedelta(hours=settings.send_give_up_hours),
            ),
            "outage": Outage(),
            "unrecorded": Unrecorded(),
            # The sender signs each resource's profile link into their email at send time (resources verifies it).
            "sign_profile_link": profile_link(
                str(settings.platform.web_public_url), settings.platform.profile_link_key
            ).versioned_url,
            "coordinators": tuple(settings.coordinator_emails),
            "web_url": str(settings.platform.web_public_url),  # coordinators' alerts link to the staff console
            "message_id_domain": sender_domain(settings.sender),
            "digest_hour": settings.digest_hour,
        },
    )
    consumers.subscribe(infra, bus)
    infra.run(sender)
    infra.run(digests)
    infra.run(body_purge)
    infra.measure("kpis", metrics.kpis)
    return create_service_app(
        infra,
        bus=bus,
        title="Meet Malmö notifications",
        description="The emails staff, originators and members receive, and the log of their delivery.",
        routers=[api.router],
        state={"links": links},
    )
