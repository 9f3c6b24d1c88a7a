"""Notifications's composition root: the one place where its parts are wired together."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import FastAPI

from services.notifications import api, consumers, preferences
from services.notifications.db import NotificationsUnitOfWork, outbox
from services.notifications.digests import Digests, DigestScheduler
from services.notifications.domain import RetryPolicy
from services.notifications.handlers import EmailQueue
from services.notifications.links import UnsubscribeLinks
from services.notifications.rendering import Renderer
from services.notifications.sender import DeliverySender, Mailer
from services.notifications.settings import Settings
from services.notifications.smtp import SmtpMailer, sender_domain
from shared.inbox import IdempotentConsumer
from shared.service import Infrastructure
from shared.service import create_app as create_service_app
from shared.settings import load_settings

log = structlog.get_logger(__name__)


def get_settings() -> Settings:
    return load_settings(Settings)


@dataclass(frozen=True)
class Notifications:
    """The wired parts, on app.state.notifications for tests and operations."""

    infra: Infrastructure
    consumer: IdempotentConsumer[NotificationsUnitOfWork]
    sender: DeliverySender
    digests: DigestScheduler


def smtp_mailer(settings: Settings) -> SmtpMailer:
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.sender,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
        timeout_seconds=settings.smtp_timeout_seconds,
    )


def create_app(settings: Settings | None = None, mailer: Mailer | None = None) -> FastAPI:
    settings = settings or get_settings()
    infra = Infrastructure.build(settings, outbox)
    policy = RetryPolicy(settings.send_max_attempts, settings.retry_base_seconds, settings.retry_max_seconds)

    def uow_factory() -> NotificationsUnitOfWork:
        return NotificationsUnitOfWork(infra.session_factory, infra.outbox, infra.relay.wake, sender.wake)

    sender = DeliverySender(
        uow_factory, mailer or smtp_mailer(settings), policy, poll_seconds=settings.send_poll_seconds
    )
    if not settings.coordinator_emails:
        log.warning("notifications.no_coordinators", setting="NOTIFICATIONS_COORDINATOR_EMAILS")
    renderer = Renderer()
    queue = EmailQueue(renderer, tuple(settings.coordinator_emails), sender_domain(settings.sender))
    consumer = consumers.subscribe(infra, uow_factory, queue)
    links = UnsubscribeLinks(str(settings.public_url), settings.link_secret)
    digests = Digests(renderer, links, sender_domain(settings.sender), settings.digest_hour)
    infra.run_in_background("delivery-sender", sender.run)
    scheduler = DigestScheduler(digests, uow_factory)
    infra.run_in_background("daily-digest", scheduler.run)
    app = create_service_app(
        infra,
        title="Meet Malmö notifications",
        description="The emails staff, originators and members receive, and the log of their delivery.",
        routers=[
            api.build_router(uow_factory),
            preferences.build_router(uow_factory, links, settings.public_rate_limit),
        ],
    )
    app.state.notifications = Notifications(infra, consumer, sender, scheduler)
    return app
