"""The use cases over a fake unit of work with in-memory repositories (no database, no broker, no SMTP):
what each handler changes in the delivery log and which events it emits."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.notifications.consumers import SUBSCRIPTIONS
from services.notifications.domain import PROFILE_LINK, AlertMode, Delivery, Status
from services.notifications.handlers import (
    QueueDigests,
    RetryDelivery,
    SendDueEmails,
    SetCoordinatorPreference,
    Unsubscribe,
)
from shared.contracts import Envelope, Event, parse_event
from shared.contracts.links import profile_link
from shared.errors import InvalidTransition, NotFound
from shared.jobs import AT_ONCE, Pause

from .. import factories
from ..factories import COORDINATORS, ORIGINATOR
from .fakes import NOW, PROFILE_LINK_SECRET, Harness

EVA = COORDINATORS[0]


async def test_a_submitted_initiative_queues_the_receipt_and_one_alert_per_coordinator_and_wakes_the_sender() -> None:
    app = Harness()
    await app.consume(factories.submitted())

    assert app.statuses() == {
        (ORIGINATOR, "originator_receipt"): Status.QUEUED,
        (COORDINATORS[0], "coordinator_initiative_submitted"): Status.QUEUED,
        (COORDINATORS[1], "coordinator_initiative_submitted"): Status.QUEUED,
    }
    assert all(d.next_attempt_at == NOW and d.body_text for d in app.deliveries.rows.values())
    assert app.uow.sender_woken == 1


@pytest.mark.parametrize(("event", "emails"), [(factories.submitted(), 3), (factories.formation_blocked(), 2)])
async def test_the_same_event_consumed_twice_queues_nothing_more_and_wakes_nobody(event: Event, emails: int) -> None:
    app = Harness()
    envelope = await app.consume(event)
    await app.consume(event, envelope=envelope)

    assert len(app.deliveries.rows) == emails
    assert app.uow.sender_woken == 1


@pytest.mark.parametrize("event", [factories.submitted(), factories.formation_blocked()])
async def test_an_alert_for_a_coordinator_who_chose_the_digest_is_held_in_their_language(event: Event) -> None:
    app = Harness()
    await app.bus.handle(SetCoordinatorPreference(EVA.upper(), AlertMode.DAILY_DIGEST, "en"))
    await app.consume(event)

    [held] = app.deliveries.to(EVA)
    assert (held.status, held.language, held.next_attempt_at) == (Status.HELD, "en", None)
    assert [d.status for d in app.deliveries.to(COORDINATORS[1])] == [Status.QUEUED]


async def test_no_group_yet_queues_one_alert_per_coordinator_naming_what_is_missing_in_their_language() -> None:
    app = Harness()
    await app.bus.handle(SetCoordinatorPreference(EVA, AlertMode.IMMEDIATE, "en"))
    blocked = factories.formation_blocked()
    await app.consume(blocked)

    eva, olle = (d for address in COORDINATORS for d in app.deliveries.to(address))
    assert {(d.template, d.status) for d in (eva, olle)} == {("coordinator_formation_blocked", Status.QUEUED)}
    assert len(app.deliveries.rows) == 2 and app.uow.sender_woken == 1
    assert (eva.language, eva.subject) == ("en", "No working group yet for MM-2026-0001")
    assert (olle.language, olle.subject) == ("sv", "Ingen arbetsgrupp ännu för MM-2026-0001")
    for delivery, missing in [
        (eva, ["A municipality representative", "2 more people", "Project management, Recruitment"]),
        (olle, ["En representant för kommunen", "2 personer till", "Projektledning, Rekrytering"]),
    ]:
        assert delivery.body_text and delivery.body_html
        assert all(words in delivery.body_text and words in delivery.body_html for words in missing), missing
        assert blocked.review_url in delivery.body_text


async def test_an_erasure_clears_the_persons_address_and_every_text_that_shows_them() -> None:
    app = Harness()
    registered = factories.registered()
    ali = factories.member("Ali Hassan", "ali.hassan@example.org", resource_id=registered.resource_id)
    await app.consume(registered)
    await app.consume(factories.formed(group_members=(factories.members()[0], ali)))
    assert app.uow.profile_links.links  # type: ignore[attr-defined]

    await app.consume(factories.erased(registered.resource_id))

    to_ali = [d for d in app.deliveries.rows.values() if d.resource_id == registered.resource_id]
    assert len(to_ali) == 2
    assert all((d.recipient, d.body_text, d.status) == (None, None, Status.CANCELLED) for d in to_ali)
    others = [d for d in app.deliveries.rows.values() if d.resource_id != registered.resource_id]
    assert others and all(d.recipient and d.erase_content_when_done for d in others)  # once they are sent
    assert app.uow.profile_links.links == {}  # type: ignore[attr-defined]


async def test_a_withdrawn_initiative_forgets_the_originator_once_their_email_is_out() -> None:
    app = Harness(coordinators=())
    submitted = factories.submitted()
    await app.consume(submitted)
    await app.bus.handle(SendDueEmails())

    await app.consume(factories.withdrawn(submitted.initiative_id))

    [receipt] = app.deliveries.rows.values()
    assert (receipt.status, receipt.recipient, receipt.body_text) == (Status.SENT, None, None)


async def test_the_sender_sends_what_is_due_and_records_each_outcome_as_an_event() -> None:
    app = Harness()
    await app.consume(factories.submitted())

    assert await app.bus.handle(SendDueEmails()) is None  # the batch was not full: wait for a wake-up
    assert sorted(e.recipient for e in app.mailer.sent) == sorted([ORIGINATOR, *COORDINATORS])
    assert set(app.statuses().values()) == {Status.SENT}
    assert {type(e).__name__ for e in app.uow.events} == {"NotificationSent"}
    assert len(app.uow.events) == 3
    assert await app.bus.handle(SendDueEmails(batch_size=1)) is None  # nothing left


async def test_a_full_batch_asks_for_the_next_round_at_once() -> None:
    app = Harness()
    await app.consume(factories.submitted())
    assert await app.bus.handle(SendDueEmails(batch_size=2)) == AT_ONCE
    assert len(app.mailer.sent) == 2


def _delivery_of(message_id: str) -> uuid.UUID:
    return uuid.UUID(message_id.strip("<>").partition("@")[0])


async def test_several_attempts_at_once_send_each_email_once_each_handover_noted_before_it_goes() -> None:
    app = Harness()
    for n in range(1, 4):
        await app.consume(factories.submitted(reference=f"MM-2026-{n:04d}"))
    noted_before: list[bool] = []
    app.mailer.after_send = lambda: noted_before.append(
        _delivery_of(app.mailer.sent[-1].message_id) in app.deliveries.handed_over
    )

    assert await app.bus.handle(SendDueEmails(parallel=4)) is None
    assert len(app.mailer.sent) == len(app.deliveries.rows) == 9  # a receipt and two alerts for each
    assert len({email.message_id for email in app.mailer.sent}) == 9 and all(noted_before)
    assert set(app.statuses().values()) == {Status.SENT} and len(app.uow.events) == 9


async def test_a_server_found_away_in_a_round_stops_it_its_noted_emails_wait_and_the_rest_go_back_uncounted() -> None:
    app = Harness()
    for n in range(1, 3):
        await app.consume(factories.submitted(reference=f"MM-2026-{n:04d}"))
    assert len(app.deliveries.rows) == 6  # more than one handover note's worth
    app.mailer.away = True

    assert await app.bus.handle(SendDueEmails(parallel=4)) == Pause(2.0)
    # The four whose handover was noted went to the server (and wait for it, no attempt used up); the others
    # were never handed over: given back, their attempt not counted.
    waiting = [d for d in app.deliveries.rows.values() if d.attempts]
    assert len(waiting) == 4 and all(d.last_error and d.failures == 0 for d in waiting) and app.mailer.sent == []
    assert all(d.lease_token is None and d.status is Status.QUEUED for d in app.deliveries.rows.values())

    app.mailer.away = False
    app.now += timedelta(seconds=10)
    assert await app.bus.handle(SendDueEmails(parallel=4)) is None
    assert len(app.mailer.sent) == len(app.deliveries.rows) and set(app.statuses().values()) == {Status.SENT}
    waited = {d.id for d in waiting}
    assert all(d.attempts == (2 if d.id in waited else 1) for d in app.deliveries.rows.values())


async def test_while_the_server_is_away_the_sender_probes_with_one_delivery_waiting_longer_each_round() -> None:
    app = Harness(coordinators=())
    await app.consume(factories.submitted())
    await app.consume(factories.accepted())
    app.mailer.away = True

    first = await app.bus.handle(SendDueEmails())
    tried = [d for d in app.deliveries.rows.values() if d.attempts]
    assert first == Pause(2.0) and len(tried) == 1 and tried[0].last_error
    assert tried[0].status is Status.QUEUED  # not failed: the server, not the email, is the problem
    second = await app.bus.handle(SendDueEmails())
    assert second == Pause(4.0)

    app.mailer.away = False
    app.now += timedelta(seconds=10)
    assert await app.bus.handle(SendDueEmails()) is None
    assert set(app.statuses().values()) == {Status.SENT}


async def test_staff_retry_queues_a_failed_delivery_again_and_refuse_anything_else() -> None:
    app = Harness(coordinators=())
    await app.consume(factories.submitted())
    [delivery] = app.deliveries.rows.values()
    with pytest.raises(InvalidTransition):
        await app.bus.handle(RetryDelivery(delivery.id))
    delivery.record_permanent_failure("550 no such user", NOW)

    retried = await app.bus.handle(RetryDelivery(delivery.id))

    assert (retried.status, retried.attempts) == (Status.QUEUED, 0)
    assert app.uow.sender_woken == 2  # once for the event, once for the retry
    with pytest.raises(NotFound):
        await app.bus.handle(RetryDelivery(uuid.uuid4()))


async def test_the_day_s_digest_takes_every_held_alert_once_and_its_link_switches_back_to_immediate() -> None:
    app = Harness(coordinators=(EVA,))
    await app.bus.handle(SetCoordinatorPreference(EVA, AlertMode.DAILY_DIGEST, None))
    await app.consume(factories.submitted())
    await app.consume(factories.updated())

    assert await app.bus.handle(QueueDigests(NOW)) == 1
    assert await app.bus.handle(QueueDigests(NOW + timedelta(hours=1))) == 0

    [digest] = [d for d in app.deliveries.to(EVA) if d.template == "coordinator_digest"]
    alerts = [d for d in app.deliveries.to(EVA) if d.template != "coordinator_digest"]
    assert digest.status is Status.QUEUED and digest.list_unsubscribe
    assert digest.subject.startswith("Dagens sammanfattning: 2 aviseringar")
    assert {(a.status, a.digest_id) for a in alerts} == {(Status.IN_DIGEST, digest.id)}

    token = digest.list_unsubscribe.rpartition("/")[2]
    await app.bus.handle(Unsubscribe(token))
    preference = await app.uow.preferences.of(EVA)
    assert preference is not None and preference.alert_mode is AlertMode.IMMEDIATE


def test_every_consumed_event_type_has_one_handler() -> None:
    handled: list[Any] = [t for by_type in SUBSCRIPTIONS.values() for t in by_type]
    assert len(handled) == len(set(handled)) == 18
    assert all(t.topic == topic for topic, by_type in SUBSCRIPTIONS.items() for t in by_type)


async def test_a_four_hour_smtp_outage_fails_no_email_and_uses_up_no_attempt() -> None:
    app = Harness(coordinators=())  # at most 3 attempts
    await app.consume(factories.submitted())
    app.mailer.away = True
    for _ in range(4 * 60):  # a round a minute for four hours
        await app.bus.handle(SendDueEmails())
        app.now += timedelta(minutes=1)
    [delivery] = app.deliveries.rows.values()
    assert (delivery.status, delivery.failures) == (Status.QUEUED, 0) and delivery.attempts > 3

    app.mailer.away = False
    app.now += timedelta(minutes=1)
    await app.bus.handle(SendDueEmails())
    assert app.statuses() == {(ORIGINATOR, "originator_receipt"): Status.SENT}
    assert len(app.mailer.sent) == 1


async def test_an_email_whose_sent_could_not_be_recorded_is_recorded_later_and_never_sent_again() -> None:
    app = Harness(coordinators=())
    await app.consume(factories.submitted())
    app.mailer.after_send = lambda: setattr(app.uow, "failing_commits", 2)  # the database goes just after the send

    assert await app.bus.handle(SendDueEmails()) is None  # the send went; its record waits
    with pytest.raises(ConnectionRefusedError):
        await app.bus.handle(SendDueEmails())  # still away: the round ends before anything is sent
    app.now += timedelta(minutes=5)  # long past the lease
    app.mailer.after_send = lambda: None
    await app.bus.handle(SendDueEmails())  # back: recorded first, so it is neither unknown nor sent again

    assert app.statuses() == {(ORIGINATOR, "originator_receipt"): Status.SENT}
    assert len(app.mailer.sent) == 1
    assert [type(e).__name__ for e in app.uow.events] == ["NotificationSent"]


async def test_a_batch_claimed_just_before_the_database_went_away_is_sent_once_it_is_back_not_after_the_lease() -> None:
    """The round claimed its batch, then no handover could be noted (nothing was sent) and the batch could not
    be given back either: it is given back by the next round, so the emails wait for the database, not for
    their two-minute lease."""
    app = Harness()
    await app.consume(factories.submitted())

    def database_goes_away() -> None:
        app.uow.after_commit = lambda: None
        app.uow.failing_commits = 100

    app.uow.after_commit = database_goes_away  # just after the claim's commit
    with pytest.raises(ConnectionRefusedError):
        await app.bus.handle(SendDueEmails())
    assert app.mailer.sent == []
    assert all(d.lease_token for d in app.deliveries.rows.values())  # still claimed by that round

    app.uow.failing_commits = 0  # back after a few seconds, well within the lease
    app.now += timedelta(seconds=5)
    await app.bus.handle(SendDueEmails())

    assert set(app.statuses().values()) == {Status.SENT}
    assert sorted(e.recipient for e in app.mailer.sent) == sorted([ORIGINATOR, *COORDINATORS])
    assert {d.attempts for d in app.deliveries.rows.values()} == {1}  # the round that sent nothing counts not
    assert [type(e).__name__ for e in app.uow.events] == ["NotificationSent"] * 3


async def _receipt_leased_for_two_minutes(app: Harness) -> tuple[Delivery, uuid.UUID]:
    """A submission's one delivery (the originator's receipt), claimed at NOW by an attempt: (it, the token)."""
    await app.consume(factories.submitted())
    [delivery] = app.deliveries.rows.values()
    token = uuid.uuid4()
    assert await app.deliveries.claim(delivery.id, token, NOW, NOW + timedelta(minutes=2))
    return delivery, token


async def test_an_attempt_whose_lease_ran_out_without_an_outcome_is_unknown_and_not_sent_again() -> None:
    app = Harness(coordinators=())
    delivery, token = await _receipt_leased_for_two_minutes(app)
    assert await app.deliveries.begin_handover(delivery.id, token, NOW)  # then it died while handing it over

    app.now += timedelta(minutes=3)
    await app.bus.handle(SendDueEmails())

    assert app.statuses() == {(ORIGINATOR, "originator_receipt"): Status.UNKNOWN}
    assert app.mailer.sent == []
    [event] = app.uow.events
    assert (type(event).__name__, event.status) == ("NotificationFailed", "unknown")  # type: ignore[attr-defined]


async def test_a_delivery_claimed_by_a_sender_that_died_before_handing_it_over_is_sent_after_its_lease() -> None:
    """A round claims its whole batch at once; a sender killed with some of it untried must not leave those
    unknown (they were never handed over): they are given back and sent, once, with the attempt not counted."""
    app = Harness(coordinators=())
    delivery, _ = await _receipt_leased_for_two_minutes(app)  # then its sender died

    app.now += timedelta(minutes=1)
    await app.bus.handle(SendDueEmails())
    assert app.mailer.sent == []  # still leased: nobody else may take it meanwhile

    app.now += timedelta(minutes=2)
    await app.bus.handle(SendDueEmails())

    assert app.statuses() == {(ORIGINATOR, "originator_receipt"): Status.SENT}
    assert len(app.mailer.sent) == 1
    assert app.deliveries.rows[delivery.id].attempts == 1
    assert [type(e).__name__ for e in app.uow.events] == ["NotificationSent"]


async def test_an_attempt_that_lost_its_lease_before_handing_over_does_not_send() -> None:
    app = Harness(coordinators=())
    delivery, token = await _receipt_leased_for_two_minutes(app)
    assert not await app.deliveries.begin_handover(delivery.id, token, NOW + timedelta(minutes=2))  # ran out
    assert not await app.deliveries.begin_handover(delivery.id, uuid.uuid4(), NOW)  # another attempt's


async def test_the_profile_link_is_stored_as_a_placeholder_and_signed_into_the_email_only_when_it_is_sent() -> None:
    app = Harness()
    registered = factories.registered()
    requested = factories.profile_link_requested()  # a renewed link: version 1
    await app.consume(registered)
    await app.consume(requested)
    await app.consume(factories.invited(resource_id=requested.resource_id))

    stored = list(app.deliveries.rows.values())
    assert all("/my/profile/" not in f"{d.body_text}{d.body_html}" for d in stored)
    assert {(d.template, d.profile_link_version) for d in stored} == {
        ("resource_welcome", 0),
        ("resource_profile_link", 1),
        ("member_invitation", 1),  # the version kept from the last link event, for the footer
    }
    assert all(PROFILE_LINK in f"{d.body_text}{d.body_html}" for d in stored)
    await app.bus.handle(SendDueEmails())

    verifier = profile_link(factories.WEB, PROFILE_LINK_SECRET)  # as resources reads it
    for email in app.mailer.sent:
        assert PROFILE_LINK not in email.text + email.html
        [token] = {link.rsplit("/", 1)[1] for link in email.text.split() if "/my/profile/" in link}
        delivery = next(d for d in stored if d.message_id == email.message_id)
        assert verifier.read_versioned(token) == (delivery.resource_id, delivery.profile_link_version)
        assert f'href="{factories.WEB}/my/profile/{token}"' in email.html


async def test_the_placeholder_typed_into_a_form_is_left_as_it_is_in_an_email_that_brings_no_profile_link() -> None:
    app = Harness()
    await app.consume(factories.submitted(title=f"Sommarjobb {PROFILE_LINK}"))
    await app.bus.handle(SendDueEmails())

    assert app.mailer.sent and all("/my/profile/" not in email.text + email.html for email in app.mailer.sent)


async def test_a_version_1_registration_with_its_link_queues_the_welcome_with_the_links_version_and_not_its_token() -> (
    None
):
    app = Harness()
    resource_id = uuid.uuid4()
    link = profile_link(factories.WEB, "the-key-resources-used-before-version-2").versioned_url(resource_id, 2)
    payload = factories.registered(resource_id=resource_id).model_dump(mode="json", exclude={"profile_link_version"})
    envelope = Envelope(
        event_type="ResourceRegistered",
        schema_version=1,
        producer="resources",
        correlation_id="v1",
        payload={**payload, "profile_url": link},
    )
    await app.consume(parse_event(envelope), envelope)

    [welcome] = app.deliveries.rows.values()
    assert (welcome.template, welcome.resource_id, welcome.profile_link_version) == ("resource_welcome", resource_id, 2)
    assert link.rsplit("/", 1)[1] not in f"{welcome.body_text}{welcome.body_html}"
    assert app.uow.profile_links.links == {resource_id: 2}  # type: ignore[attr-defined]
