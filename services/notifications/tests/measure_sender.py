"""How many emails a second one notifications process hands to an SMTP server (issue 12's goal: 200/s).

Not a test (no timed assertion): run it by hand against the test PostgreSQL and a local aiosmtpd sink,

    .venv/bin/python -m services.notifications.tests.measure_sender [emails] [connections ...]

It queues `emails` rendered deliveries in a fresh database, then lets the sender's rounds (claim with a
lease, check it, send on a kept connection, record the outcome and its event) work through them with
each number of SMTP connections, and prints emails per second. Consuming events and rendering are not
in the figure: they happen when a delivery is queued, not when it is sent.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from services.notifications.bootstrap import create_app
from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.domain import Delivery, RecipientRole, Rendered
from services.notifications.handlers import SendDueEmails
from services.notifications.settings import Settings
from shared.db import utcnow
from shared.messagebus import MessageBus
from shared.settings import PlatformSettings
from shared.testing import drop_database, free_port, migrated_database

POSTGRES = os.environ.get("MEETMALMO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:55432")
TEXT = "Hej!\n\nVi har tagit emot ert initiativ MM-2026-0042.\n" * 20


class Sink:
    """Takes every message and counts it."""

    def __init__(self) -> None:
        self.taken = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        self.taken += 1
        return "250 OK"


async def queue(bus: MessageBus[NotificationsUnitOfWork], emails: int) -> None:
    now = utcnow()
    for start in range(0, emails, 500):
        async with bus.uow_factory() as uow:
            for n in range(start, min(emails, start + 500)):
                await uow.deliveries.add(
                    Delivery.queue(
                        event_id=uuid.uuid4(),
                        event_type="InitiativeSubmitted",
                        template="originator_receipt",
                        recipient=f"person{n}@example.org",
                        role=RecipientRole.ORIGINATOR,
                        language="sv",
                        rendered=Rendered("Vi har tagit emot ert initiativ", TEXT, f"<p>{TEXT}</p>"),
                        message_id_domain="meetmalmo.se",
                        now=now,
                    )
                )
            await uow.commit()


async def measure(emails: int, connections: int, sink: Sink, smtp_port: int) -> tuple[float, float]:
    url = await migrated_database(POSTGRES, "notifications")
    platform = PlatformSettings(environment="local", kafka_bootstrap="127.0.0.1:1")
    settings = Settings(database_url=url, smtp_port=smtp_port, smtp_connections=connections, platform=platform)
    app = create_app(settings)
    bus: MessageBus[NotificationsUnitOfWork] = app.state.bus
    try:
        await queue(bus, emails)
        before = sink.taken
        started, cpu = time.perf_counter(), time.process_time()
        while sink.taken - before < emails:
            await bus.handle(SendDueEmails(batch_size=200, parallel=connections))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        await bus._dependencies["mailer"].close()  # the measurement's own wiring
        return emails / elapsed, cpu / emails
    finally:
        await app.state.infra.engine.dispose()
        await drop_database(url)


async def main(emails: int, connection_counts: list[int]) -> None:
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for connections in connection_counts:
            rate, cpu = await measure(emails, connections, sink, port)
            # The CPU this process spent per email (the sink's share included: it runs in a thread here) tells
            # what a core of its own would carry when the machine is shared and wall-clock figures are not.
            print(
                f"{emails} emails, {connections} SMTP connection(s): {rate:.0f} emails/s wall clock, "
                f"{cpu * 1000:.1f} ms CPU per email (~{1 / cpu:.0f} emails/s per free core), "
                f"load average {os.getloadavg()[0]:.1f}"
            )
    finally:
        controller.stop()


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(arguments[0] if arguments else 2000, arguments[1:] or [1, 4, 8]))
