"""What a round of the sender costs the database on PostgreSQL: statements per wave of emails (one per SMTP
connection) and per round, not per email, while each email's handover is still noted before it goes."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import event

from services.notifications.tests import factories
from services.notifications.tests.conftest import ServiceFactory, SmtpServer
from shared.contracts import Envelope
from shared.contracts.notifications import NotificationSent
from shared.inbox import Record

pytestmark = pytest.mark.integration

EMAILS = 10
CONNECTIONS = 4


async def test_a_round_notes_each_wave_in_one_statement_and_records_its_outcomes_and_events_in_one_each(
    notifications: ServiceFactory, smtp: SmtpServer
) -> None:
    service = await notifications(smtp.port, coordinator_emails=[], smtp_connections=CONNECTIONS)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(" ".join(statement.split()))

    submissions = [factories.submitted(reference=f"MM-2026-{n:04d}") for n in range(1, EMAILS + 1)]
    envelopes = [Envelope.wrap(submission, producer="intake") for submission in submissions]
    engine = service.app.state.infra.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        [consumer] = service.app.state.infra.consumers
        await consumer.handle_batch([
            Record(s.topic.value, s.key().encode(), e.model_dump_json().encode(), {}, 0, offset)
            for offset, (s, e) in enumerate(zip(submissions, envelopes, strict=True))
        ])  # fmt: skip
        rows = await service.settled(EMAILS)  # one commit queued them all: one round of the sender sends them
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert {row["status"] for row in rows} == {"sent"} and len(smtp.messages) == EMAILS
    handovers = [s for s in statements if s.startswith("UPDATE deliveries SET handover_at=")]
    outcomes = [s for s in statements if s.startswith("UPDATE deliveries SET") and "FROM unnest(" in s]
    events = [s for s in statements if s.startswith("INSERT INTO outbox") and "FROM unnest(" in s]
    assert len(handovers) == math.ceil(EMAILS / CONNECTIONS), "each wave's handover is one statement"
    assert len(outcomes) == 1 and len(events) == 1, "the round's outcomes and their events: one statement each"
    assert not [s for s in statements if s.startswith("INSERT INTO outbox") and "unnest" not in s]
    sent = [e for e in await service.outbox_events() if e.event_type == NotificationSent.event_type()]
    assert sorted(e.payload["delivery_id"] for e in sent) == sorted(str(row["id"]) for row in rows)
    assert {e.payload["message_id"] for e in sent} == {row["message_id"] for row in rows}
