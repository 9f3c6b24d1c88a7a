"""The life of one delivery and what happens to personal data in it. No I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notifications.domain import (
    Delivery,
    RecipientRole,
    Rendered,
    RetryPolicy,
    Status,
    digest_day,
    digest_key,
    mask_address,
    next_digest_at,
)
from shared.errors import InvalidTransition

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, base_seconds=2, max_seconds=5)


def delivery(role: RecipientRole = RecipientRole.RESOURCE) -> Delivery:
    queued = Delivery.queue(
        event_id=uuid.uuid4(),
        event_type="MemberInvited",
        template="member_invitation",
        recipient="ali.hassan@example.org",
        role=role,
        language="sv",
        rendered=Rendered("Inbjudan", "Hej Ali", "<p>Hej Ali</p>"),
        message_id_domain="meetmalmo.se",
        now=NOW,
        resource_id=uuid.uuid4(),
    )
    queued.attempts = 1  # as the sender's claim leaves it
    return queued


def test_a_queued_delivery_is_due_at_once_with_a_message_id_derived_from_its_id() -> None:
    queued = delivery()
    assert queued.status is Status.QUEUED and queued.next_attempt_at == NOW
    assert queued.message_id == f"<{queued.id}@meetmalmo.se>"


def test_a_sent_delivery_keeps_when_and_reports_sent() -> None:
    queued = delivery()
    outcome = queued.record_sent(NOW)
    assert outcome.status is Status.SENT and outcome.error is None
    assert (queued.status, queued.sent_at, queued.next_attempt_at) == (Status.SENT, NOW, None)


def test_a_refusal_of_the_message_is_retried_with_exponential_backoff_capped() -> None:
    queued = delivery()
    delays = []
    for _ in (1, 2):
        assert queued.record_temporary_failure("451 try later", NOW, POLICY) is None
        assert queued.next_attempt_at is not None
        delays.append(queued.next_attempt_at - NOW)
    assert delays == [timedelta(seconds=2), timedelta(seconds=4)]
    assert POLICY.delay(10) == timedelta(seconds=5)
    assert queued.status is Status.QUEUED and queued.last_error == "451 try later"
    assert queued.failures == 2


def test_after_the_last_attempt_a_refusal_of_the_message_fails_the_delivery() -> None:
    queued = delivery()
    queued.failures = 2
    outcome = queued.record_temporary_failure("451 try later", NOW, POLICY)
    assert outcome is not None and outcome.status is Status.FAILED
    assert queued.status is Status.FAILED
    assert queued.last_error == "gave up after 3 attempts: 451 try later"


def test_an_email_that_could_not_be_handed_over_waits_without_using_up_attempts() -> None:
    queued = delivery()
    for hours in range(1, 5):  # a four-hour outage, many more tries than max_attempts
        queued.attempts += 1
        later = NOW + timedelta(hours=hours)
        assert queued.record_deferred("ConnectionRefusedError", later, timedelta(seconds=30), POLICY) is None
        assert (queued.status, queued.next_attempt_at, queued.failures) == (
            Status.QUEUED,
            later + timedelta(seconds=30),
            0,
        )
    outcome = queued.record_deferred("421 busy", NOW + POLICY.give_up_after, timedelta(seconds=30), POLICY)
    assert outcome is not None and outcome.status is Status.FAILED
    assert queued.last_error == "gave up after waiting 72 hours: 421 busy"


def test_an_unknown_outcome_is_never_due_again_until_a_coordinator_sends_it_again() -> None:
    queued = delivery()
    queued.lease_token = uuid.uuid4()
    outcome = queued.record_unknown("no answer after the message was handed over", NOW)
    assert (outcome.status, outcome.error) == (Status.UNKNOWN, "no answer after the message was handed over")
    assert (queued.status, queued.next_attempt_at, queued.lease_token) == (Status.UNKNOWN, None, None)
    with pytest.raises(InvalidTransition):
        queued.record_temporary_failure("451", NOW, POLICY)
    queued.retry(NOW + timedelta(minutes=5))
    assert (queued.status, queued.attempts, queued.next_attempt_at) == (Status.QUEUED, 0, NOW + timedelta(minutes=5))


def test_an_email_the_server_took_after_its_outcome_was_given_up_as_unknown_counts_as_sent() -> None:
    queued = delivery()
    queued.record_unknown("lease ran out", NOW)
    assert queued.record_sent(NOW).status is Status.SENT


def test_only_the_attempt_named_by_the_lease_holds_it_and_only_until_it_runs_out() -> None:
    queued, token = delivery(), uuid.uuid4()
    queued.lease_token, queued.next_attempt_at = token, NOW + timedelta(minutes=2)
    assert queued.holds_lease(token, NOW + timedelta(minutes=1))
    assert not queued.holds_lease(uuid.uuid4(), NOW)
    assert not queued.holds_lease(token, NOW + timedelta(minutes=2))
    queued.forget_recipient(NOW)  # an erasure cancels it: nobody holds it any more
    assert not queued.holds_lease(token, NOW)


def test_a_permanent_refusal_fails_the_delivery_at_once() -> None:
    queued = delivery()
    outcome = queued.record_permanent_failure("550 no such user", NOW)
    assert (outcome.status, outcome.error) == (Status.FAILED, "550 no such user")
    assert queued.status is Status.FAILED and queued.next_attempt_at is None


def test_only_a_failed_or_unknown_delivery_can_be_retried_and_it_gets_a_fresh_budget() -> None:
    queued = delivery()
    with pytest.raises(InvalidTransition) as refused:
        queued.retry(NOW)
    assert refused.value.current_status == "queued"
    queued.record_permanent_failure("550 no such user", NOW)
    queued.retry(NOW + timedelta(hours=1))
    assert (queued.status, queued.attempts, queued.next_attempt_at) == (Status.QUEUED, 0, NOW + timedelta(hours=1))
    queued.record_sent(NOW)
    with pytest.raises(InvalidTransition):
        queued.retry(NOW)


def test_an_erased_recipients_queued_delivery_is_cancelled_and_forgotten() -> None:
    queued = delivery()
    queued.forget_recipient(NOW)
    assert queued.status is Status.CANCELLED
    assert (queued.recipient, queued.body_text, queued.body_html) == (None, None, None)
    assert queued.erased


def test_a_failed_delivery_whose_recipient_was_erased_cannot_be_retried() -> None:
    failed = delivery()
    failed.record_permanent_failure("550", NOW)
    failed.forget_recipient(NOW)
    with pytest.raises(InvalidTransition) as refused:
        failed.retry(NOW)
    assert refused.value.current_status == "erased"


def test_text_about_someone_erased_goes_once_the_email_is_out() -> None:
    queued = delivery()
    queued.forget_content_when_done(NOW)
    assert queued.body_text == "Hej Ali"  # still needed to send
    queued.record_sent(NOW)
    assert (queued.body_text, queued.body_html) == (None, None)
    assert queued.recipient == "ali.hassan@example.org"


def test_a_withdrawn_originators_address_goes_once_nothing_is_queued_for_them() -> None:
    queued = delivery(RecipientRole.ORIGINATOR)
    queued.forget_recipient_when_done(NOW)
    assert queued.recipient is not None and queued.status is Status.QUEUED
    queued.record_permanent_failure("550", NOW)
    assert (queued.recipient, queued.body_text) == (None, None)

    sent = delivery(RecipientRole.ORIGINATOR)
    sent.record_sent(NOW)
    sent.forget_recipient_when_done(NOW)
    assert (sent.recipient, sent.body_text, sent.status) == (None, None, Status.SENT)


def test_an_email_the_server_took_while_its_recipient_was_erased_counts_as_sent() -> None:
    queued = delivery()
    queued.forget_recipient(NOW)
    queued.record_sent(NOW)
    assert queued.status is Status.SENT and queued.recipient is None


def test_addresses_are_masked_for_staff() -> None:
    assert mask_address("eva.coordinator@malmo.se") == "e***@malmo.se"
    assert mask_address(None) is None
    assert mask_address("nonsense") == "***"


MALMO = ZoneInfo("Europe/Stockholm")


def test_a_digest_falls_due_at_the_digest_hour_in_malmo_time_whatever_the_season() -> None:
    winter_seven = datetime(2026, 1, 15, 7, 0, tzinfo=MALMO)  # 06:00 UTC
    summer_seven = datetime(2026, 7, 15, 7, 0, tzinfo=MALMO)  # 05:00 UTC
    assert digest_day(winter_seven - timedelta(seconds=1), 7, MALMO) is None
    assert digest_day(winter_seven, 7, MALMO) == date(2026, 1, 15)
    assert digest_day(summer_seven.astimezone(UTC), 7, MALMO) == date(2026, 7, 15)
    assert next_digest_at(datetime(2026, 1, 15, 5, 0, tzinfo=UTC), 7, MALMO) == winter_seven
    assert next_digest_at(winter_seven, 7, MALMO) == winter_seven + timedelta(days=1)
    # The night the clocks go forward: still 07:00 on the wall, 23 hours after the day before's.
    before = datetime(2026, 3, 28, 7, 0, tzinfo=MALMO)
    after = next_digest_at(before, 7, MALMO)
    assert after.astimezone(MALMO).hour == 7 and after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=23)


def test_a_digest_is_keyed_by_coordinator_and_day_only() -> None:
    day = date(2026, 11, 28)
    assert digest_key("Eva@Malmo.se", day) == digest_key("eva@malmo.se ", day)
    assert digest_key("eva@malmo.se", day) != digest_key("eva@malmo.se", day + timedelta(days=1))
    assert digest_key("eva@malmo.se", day) != digest_key("olle@malmo.se", day)


def test_a_held_alert_is_never_due_and_is_cancelled_if_its_content_is_erased_before_the_digest() -> None:
    held = delivery(RecipientRole.COORDINATOR)
    held.hold_for_digest()
    assert (held.status, held.next_attempt_at) == (Status.HELD, None)
    with pytest.raises(InvalidTransition):
        held.record_sent(NOW)
    held.forget_content_when_done(NOW)
    assert (held.status, held.body_text, held.body_html) == (Status.CANCELLED, None, None)
    with pytest.raises(InvalidTransition):
        held.take_into_digest(uuid.uuid4(), NOW)


def test_an_alert_taken_into_a_digest_points_to_it_and_loses_its_text_on_erasure_at_once() -> None:
    held = delivery(RecipientRole.COORDINATOR)
    held.hold_for_digest()
    digest_id = uuid.uuid4()
    held.take_into_digest(digest_id, NOW)
    assert (held.status, held.digest_id) == (Status.IN_DIGEST, digest_id)
    held.forget_content_when_done(NOW)
    assert (held.status, held.body_text) == (Status.IN_DIGEST, None)
