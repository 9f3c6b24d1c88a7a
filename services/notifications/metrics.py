"""What notifications' /metrics shows: the delivery log by status and template at scrape time (sent,
failed, queued, held for a digest...), deliveries that needed more than one try, and each hand-over to the
SMTP server timed by its outcome."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import Metric
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.db.tables import deliveries
from services.notifications.domain import Mailer
from services.notifications.domain.deliveries import Status
from services.notifications.domain.sending import OutgoingEmail
from shared.metrics import Stopwatch, count_by, gauge
from shared.tracing import extract_trace_context

tracer = trace.get_tracer(__name__)

SMTP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


async def kpis(session: AsyncSession) -> Iterable[Metric]:
    rows = await count_by(session, deliveries, "status", "template")
    retried = await session.scalar(select(func.count()).select_from(deliveries).where(deliveries.c.attempts > 1))
    by_status: dict[str, int] = dict.fromkeys((s.value for s in Status), 0)
    for status, _, count in rows:
        by_status[status] = by_status.get(status, 0) + count
    return [
        gauge("meetmalmo_emails", "Emails in the delivery log by status", ["status"], list(by_status.items())),
        gauge(
            "meetmalmo_emails_by_template",
            "Emails in the delivery log by status and template",
            ["status", "template"],
            rows,
        ),
        gauge("meetmalmo_emails_retried", "Emails that needed more than one try", [], [(retried,)]),
    ]


class TimedMailer:
    """The mailer, with every send timed into `meetmalmo_smtp_send_seconds{outcome}` and traced as a span
    of the trace that queued the email (the portal's POST, through Kafka and the consumers)."""

    def __init__(self, mailer: Mailer, registry: CollectorRegistry) -> None:
        self._mailer = mailer
        self._stopwatch = Stopwatch(
            Histogram(
                "meetmalmo_smtp_send_seconds",
                "Time to hand one email to the SMTP server, by outcome (ok or the failure's kind)",
                ["outcome"],
                buckets=SMTP_BUCKETS,
                registry=registry,
            )
        )

    async def send(self, email: OutgoingEmail) -> None:
        parent = extract_trace_context({"traceparent": email.trace_context} if email.trace_context else {})
        with tracer.start_as_current_span("smtp send", context=parent, kind=trace.SpanKind.CLIENT):
            async with self._stopwatch.timing():
                await self._mailer.send(email)

    def __getattr__(self, name: str) -> Any:  # whatever else the mailer offers (closing its connection...)
        return getattr(self._mailer, name)
