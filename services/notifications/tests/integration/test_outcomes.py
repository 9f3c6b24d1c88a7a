"""What an email's outcome is when the SMTP server misbehaves, on a real server (aiosmtpd) and PostgreSQL:
refused connections make emails wait without using up attempts; a server that takes the message but never
answers leaves the outcome unknown, and that email is never handed over again unless a coordinator asks."""

from __future__ import annotations

import pytest

from services.notifications.adapters.smtp import SmtpMailer
from services.notifications.domain import OutgoingEmail, ServerUnavailable
from shared.contracts.notifications import NotificationFailed
from shared.db import utcnow
from shared.testing import eventually

from .. import factories
from ..conftest import Service, ServiceFactory, SmtpServer
from ..factories import ORIGINATOR

pytestmark = pytest.mark.integration


async def only_delivery(service: Service) -> dict[str, object]:
    [row] = await service.rows("SELECT * FROM deliveries WHERE template = 'originator_receipt'")
    return row


async def test_a_server_that_refuses_and_then_never_answers_the_message_leaves_it_unknown_and_sent_once(
    notifications: ServiceFactory, smtp_down: SmtpServer
) -> None:
    # Fewer allowed attempts than the refused connections the outage brings: none of them may count.
    service = await notifications(smtp_down.port, coordinator_emails=[], send_max_attempts=2)
    await service.deliver(factories.submitted())

    async def refused_often() -> bool:
        row = await only_delivery(service)
        return row["status"] == "queued" and int(row["attempts"]) > 3  # type: ignore[call-overload]

    await eventually(refused_often)
    waiting = await only_delivery(service)
    assert waiting["failures"] == 0 and "SMTPConnectError" in str(waiting["last_error"])

    smtp_down.handler.answer_data_after = 2 * service.settings.smtp_timeout_seconds
    smtp_down.start()

    async def unknown() -> dict[str, object] | None:
        row = await only_delivery(service)
        return row if row["status"] == "unknown" else None

    row = await eventually(unknown)
    assert row["next_attempt_at"] is None and row["lease_token"] is None
    assert str(row["last_error"]).startswith("no answer after the message was handed over")
    [failed] = [e for e in await service.outbox_events() if e.event_type == NotificationFailed.event_type()]
    assert (failed.payload["delivery_id"], failed.payload["status"]) == (str(row["id"]), "unknown")

    # Later rounds of the sender leave it alone: another email goes out, this one is not handed over again.
    smtp_down.handler.answer_data_after = 0.0
    await service.deliver(factories.accepted())

    async def accepted_sent() -> bool:
        rows = await service.rows("SELECT status FROM deliveries WHERE template = 'originator_accepted'")
        return [r["status"] for r in rows] == ["sent"]

    await eventually(accepted_sent)
    assert smtp_down.handler.messages_handed_over == 2
    assert (await only_delivery(service))["status"] == "unknown"

    # A coordinator who checked with the originator sends it again, deliberately; an operator may not.
    operator = await service.client.post(f"/api/v1/deliveries/{row['id']}/retry", headers=service.token("operator"))
    assert operator.status_code == 403
    again = await service.client.post(f"/api/v1/deliveries/{row['id']}/retry", headers=service.token("coordinator"))
    assert again.status_code == 200, again.text
    assert (await service.settled(2))[0]["status"] == "sent"
    assert smtp_down.handler.messages_handed_over == 3


async def test_a_recipient_deferred_before_data_waits_without_using_up_attempts(
    notifications: ServiceFactory, smtp: SmtpServer
) -> None:
    smtp.handler.refuse(ORIGINATOR, "451 4.7.1 Greylisted", "451 4.7.1 Greylisted", "450 4.2.0 Mailbox busy")
    service = await notifications(smtp.port, coordinator_emails=[], send_max_attempts=2)
    await service.deliver(factories.submitted())

    [row] = await service.settled(1)
    assert (row["status"], row["attempts"]) == ("sent", 4)
    assert row["failures"] == 0
    assert len(smtp.handler.to(ORIGINATOR)) == 1


async def test_a_message_the_server_never_answers_is_handed_over_once_and_its_outcome_is_unknown(
    notifications: ServiceFactory, smtp: SmtpServer
) -> None:
    service = await notifications(smtp.port, coordinator_emails=[])
    smtp.handler.answer_data_after = 2 * service.settings.smtp_timeout_seconds
    await service.deliver(factories.submitted())
    await service.deliver(factories.accepted())

    rows = await service.settled(2)
    assert {r["template"]: r["status"] for r in rows} == {
        "originator_receipt": "unknown",
        "originator_accepted": "unknown",
    }
    assert smtp.handler.messages_handed_over == 2


async def test_with_starttls_required_an_email_is_never_handed_to_a_server_without_it(smtp: SmtpServer) -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, sender="noreply@meetmalmo.se", clock=utcnow, starttls=True)
    email = OutgoingEmail(ORIGINATOR, "Kvitto", "Hej", "<p>Hej</p>", "<x@meetmalmo.se>", "sv")
    with pytest.raises(ServerUnavailable):  # waits for a server that offers it; nothing goes in clear
        await mailer.send(email)
    await mailer.close()
    assert smtp.handler.messages_handed_over == 0


async def test_an_email_being_handed_over_when_the_service_stops_is_recorded_before_it_stops(
    notifications: ServiceFactory, smtp: SmtpServer
) -> None:
    service = await notifications(smtp.port, coordinator_emails=[])
    smtp.handler.answer_data_after = service.settings.smtp_timeout_seconds / 2  # slow, but answers in time
    await service.deliver(factories.submitted())
    await eventually(lambda: smtp.handler.messages_handed_over == 1)

    await service.stop()  # a deploy stops it while the server is taking the email

    assert (await only_delivery(service))["status"] == "sent"
