"""Delivery on the real parts: events through the idempotent consumer, PostgreSQL, a real SMTP server."""

from __future__ import annotations

import json

import pytest

from shared.contracts.initiatives import OriginatorErased
from shared.contracts.links import profile_link
from shared.contracts.notifications import NotificationFailed, NotificationSent
from shared.taxonomy import Language
from shared.testing import eventually

from .. import factories
from ..conftest import Service, ServiceFactory, SmtpServer
from ..factories import COORDINATORS, ORIGINATOR

pytestmark = pytest.mark.integration


async def test_a_submitted_initiative_sends_a_receipt_and_an_alert_to_each_coordinator(
    service: Service, smtp: SmtpServer
) -> None:
    event = factories.submitted(Language.EN)
    envelope = await service.deliver(event)

    rows = await service.settled(3)
    assert {(r["template"], r["recipient"], r["status"]) for r in rows} == {
        ("originator_receipt", ORIGINATOR, "sent"),
        ("coordinator_initiative_submitted", COORDINATORS[0], "sent"),
        ("coordinator_initiative_submitted", COORDINATORS[1], "sent"),
    }
    receipt = smtp.handler.to(ORIGINATOR)
    assert len(receipt) == 1 and len(smtp.messages) == 3
    message = receipt[0]
    assert message["Subject"] == "We have received your initiative MM-2026-0042"
    assert message["From"] == "Meet Malmö <noreply@meetmalmo.se>"
    assert message["Content-Language"] == "en"
    receipt_row = next(r for r in rows if r["template"] == "originator_receipt")
    assert message["Message-ID"] == receipt_row["message_id"] == f"<{receipt_row['id']}@meetmalmo.se>"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert event.status_url in plain.get_content()
    assert f'href="{event.status_url}"' in html.get_content()
    assert all(r["event_id"] == envelope.event_id and r["attempts"] == 1 for r in rows)

    sent = [e for e in await service.outbox_events() if e.event_type == "NotificationSent"]
    assert {e.payload["delivery_id"] for e in sent} == {str(r["id"]) for r in rows}
    assert all(e.payload["message_id"] and e.payload["status"] == "sent" for e in sent)


async def test_an_event_delivered_twice_sends_one_email_per_recipient(service: Service, smtp: SmtpServer) -> None:
    envelope = await service.deliver(factories.submitted())
    await service.deliver(factories.submitted(), envelope=envelope)  # Kafka redelivers the same record
    await service.settled(3)

    # Even with the consumer's memory gone (a replay under a new consumer name), the log's key holds.
    await service.execute("DELETE FROM processed_events")
    await service.deliver(factories.submitted(), envelope=envelope)
    assert len(await service.rows("SELECT event_id FROM processed_events")) == 1
    await service.settled(3)
    assert len(smtp.messages) == 3
    assert sorted(m["To"] for m in smtp.messages) == sorted([ORIGINATOR, *COORDINATORS])


async def test_while_smtp_is_down_nothing_is_lost_and_when_it_returns_everything_arrives_once(
    notifications: ServiceFactory, smtp_down: SmtpServer
) -> None:
    service = await notifications(smtp_down.port)
    await service.deliver(factories.submitted())
    await service.deliver(factories.accepted())

    async def tried_and_waiting() -> bool:
        rows = await service.rows("SELECT status, attempts, last_error FROM deliveries")
        return len(rows) == 4 and any(r["attempts"] >= 2 for r in rows) and all(r["status"] == "queued" for r in rows)

    await eventually(tried_and_waiting)
    waiting = await service.rows("SELECT last_error FROM deliveries WHERE attempts > 0")
    assert all(r["last_error"] and "@" not in r["last_error"] for r in waiting)

    smtp_down.start()
    rows = await service.settled(4)
    assert {r["status"] for r in rows} == {"sent"}
    assert len(smtp_down.messages) == 4
    assert len({m["Message-ID"] for m in smtp_down.messages}) == 4
    assert sorted(m["To"] for m in smtp_down.messages) == sorted([ORIGINATOR, ORIGINATOR, *COORDINATORS])


async def test_a_550_marks_the_delivery_failed_and_emits_notification_failed_without_the_address(
    service: Service, smtp: SmtpServer
) -> None:
    smtp.handler.refuse_always(ORIGINATOR, f"550 5.1.1 <{ORIGINATOR}>: Recipient address rejected")
    await service.deliver(factories.submitted())

    rows = await service.settled(3)
    failed = next(r for r in rows if r["recipient"] == ORIGINATOR)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert failed["last_error"].startswith("550 5.1.1") and ORIGINATOR not in failed["last_error"]
    assert len(smtp.messages) == 2  # the coordinators' alerts went out

    events = await service.outbox_events()
    failures = [e for e in events if e.event_type == NotificationFailed.event_type()]
    assert len(failures) == 1
    assert failures[0].payload | {"failed_at": None} == {
        "delivery_id": str(failed["id"]),
        "event_id": str(failed["event_id"]),
        "template": "originator_receipt",
        "recipient_role": "originator",
        "language": "sv",
        "status": "failed",
        "attempts": 1,
        "error": failed["last_error"],
        "failed_at": None,
    }
    assert ORIGINATOR not in json.dumps([e.payload for e in events])
    assert len([e for e in events if e.event_type == NotificationSent.event_type()]) == 2


async def test_a_4xx_is_retried_until_the_server_takes_the_email(
    notifications: ServiceFactory, smtp: SmtpServer
) -> None:
    smtp.handler.refuse(ORIGINATOR, "451 4.7.1 Greylisted, try again", "450 4.2.0 Mailbox busy")
    service = await notifications(smtp.port, coordinator_emails=[])
    await service.deliver(factories.submitted())

    [row] = await service.settled(1)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 3, None)  # two refusals, then taken
    assert len(smtp.handler.to(ORIGINATOR)) == 1


async def test_an_erased_resource_leaves_no_address_and_no_text_about_them(service: Service, smtp: SmtpServer) -> None:
    registered = factories.registered(Language.EN)
    ali = factories.member("Ali Hassan", "ali.hassan@example.org", resource_id=registered.resource_id)
    others = factories.members()[0], factories.members()[2]
    await service.deliver(registered, producer="resources")
    await service.deliver(factories.formed(group_members=(others[0], ali, others[1])), producer="matching")
    rows = await service.settled(1 + 3 + 2)
    footer = smtp.handler.to("ali.hassan@example.org")[1].get_body(("plain",))
    assert footer is not None
    # The link's version was remembered from the registration; the link itself is signed when the email goes.
    [token] = {word.rsplit("/", 1)[1] for word in footer.get_content().split() if "/my/profile/" in word}
    verifier = profile_link(str(service.settings.platform.web_public_url), service.settings.platform.profile_link_key)
    assert verifier.read_versioned(token) == (registered.resource_id, 0)
    stored = json.dumps([list(r.values()) for r in await service.rows("SELECT * FROM deliveries")], default=str)
    assert "/my/profile/" not in stored and token.split(".")[0] not in stored

    await service.deliver(factories.erased(registered.resource_id), producer="resources")

    rows = await service.rows("SELECT * FROM deliveries")
    to_ali = [r for r in rows if r["resource_id"] == registered.resource_id]
    assert len(to_ali) == 2
    assert all(r["recipient"] is None and r["body_text"] is None and r["body_html"] is None for r in to_ali)
    dumped = json.dumps([list(r.values()) for r in rows], default=str)
    assert "ali.hassan@example.org" not in dumped and "Ali Hassan" not in dumped
    others_rows = [r for r in rows if r["resource_id"] != registered.resource_id]
    assert all(r["recipient"] for r in others_rows)  # the others' addresses stay for the log
    assert await service.rows("SELECT * FROM resource_profiles") == []


async def test_an_email_still_queued_for_a_person_who_is_erased_is_never_sent(
    notifications: ServiceFactory, smtp_down: SmtpServer
) -> None:
    service = await notifications(smtp_down.port)
    invitation = factories.invited()
    assert invitation.member.resource_id is not None
    await service.deliver(invitation, producer="matching")
    await service.deliver(factories.erased(invitation.member.resource_id), producer="resources")
    await service.deliver(factories.submitted())

    async def tried_since_the_erasure() -> bool:
        # The sender tries one email at a time: once a later one was tried, no attempt begun before the
        # erasure is still in flight (one that was would still reach the person if the server came back).
        rows = await service.rows("SELECT attempts FROM deliveries WHERE event_type = 'InitiativeSubmitted'")
        return any(row["attempts"] > 0 for row in rows)

    await eventually(tried_since_the_erasure)
    smtp_down.start()
    rows = await service.settled(4)
    [cancelled] = [r for r in rows if r["template"] == "member_invitation"]
    assert (cancelled["status"], cancelled["recipient"], cancelled["body_text"]) == ("cancelled", None, None)
    assert smtp_down.handler.to("ali.hassan@example.org") == []


async def test_a_withdrawn_initiative_leaves_no_originator_address_and_no_text_about_it(
    service: Service, smtp: SmtpServer
) -> None:
    submitted = factories.submitted()
    await service.deliver(submitted)
    await service.settled(3)

    await service.deliver(factories.withdrawn(submitted.initiative_id))

    rows = await service.rows("SELECT * FROM deliveries")
    assert all(r["body_text"] is None and r["body_html"] is None for r in rows)
    assert {r["recipient"] for r in rows} == {None, *COORDINATORS}
    assert "Karin" not in json.dumps([list(r.values()) for r in rows], default=str)


async def test_an_address_that_cannot_be_mailed_fails_at_once_and_the_others_go_out(
    service: Service, smtp: SmtpServer
) -> None:
    event = factories.submitted()
    broken = event.originator.model_copy(update={"contact_email": "karin@example.org\nBcc: someone@example.org"})
    await service.deliver(event.model_copy(update={"originator": broken}))

    rows = await service.settled(3)
    failed = next(r for r in rows if r["template"] == "originator_receipt")
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert failed["last_error"] == "the message cannot be built: ValueError"
    assert sorted(m["To"] for m in smtp.messages) == sorted(COORDINATORS)


async def test_an_erased_originator_gets_nothing_more_and_no_delivery_keeps_their_address_or_a_text_about_them(
    notifications: ServiceFactory, smtp_down: SmtpServer
) -> None:
    service = await notifications(smtp_down.port)
    submitted = factories.submitted()
    await service.deliver(submitted)  # the receipt waits: the server is away
    await service.deliver(OriginatorErased(initiative_id=submitted.initiative_id))
    await service.deliver(factories.accepted(initiative_id=submitted.initiative_id))  # after the erasure
    await service.deliver(factories.confirmation_requested(), producer="resources")

    async def tried_since_the_erasure() -> bool:  # then no attempt at the receipt begun before it is in flight
        rows = await service.rows("SELECT attempts FROM deliveries WHERE template = 'resource_confirmation'")
        return any(row["attempts"] > 0 for row in rows)

    await eventually(tried_since_the_erasure)
    smtp_down.start()

    rows = await service.settled(2 + len(COORDINATORS))  # receipt, alerts, confirmation: none for the acceptance
    [receipt] = [r for r in rows if r["template"] == "originator_receipt"]
    assert (receipt["status"], receipt["recipient"], receipt["body_text"]) == ("cancelled", None, None)
    assert smtp_down.handler.to(ORIGINATOR) == []
    remembered = await service.rows("SELECT kind, subject_id FROM erased_subjects")
    assert [(r["kind"], str(r["subject_id"])) for r in remembered] == [("originator", str(submitted.initiative_id))]

    async def no_text_about_them() -> bool:
        found = await service.rows("SELECT * FROM deliveries")
        return "Karin" not in json.dumps([list(r.values()) for r in found], default=str)

    await eventually(no_text_about_them)  # the coordinators' alerts, once sent, keep no text
