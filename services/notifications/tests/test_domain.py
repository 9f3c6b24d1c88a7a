"""The life of one delivery and what happens to personal data in it. No I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.domain import Delivery, RecipientRole, Rendered, RetryPolicy, Status, mask_address
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


def test_a_passing_failure_is_retried_with_exponential_backoff_capped() -> None:
    queued = delivery()
    delays = []
    for attempts in (1, 2, 3):
        queued.attempts = attempts
        if attempts < 3:
            assert queued.record_temporary_failure("451 try later", NOW, POLICY) is None
            assert queued.next_attempt_at is not None
            delays.append(queued.next_attempt_at - NOW)
    assert delays == [timedelta(seconds=2), timedelta(seconds=4)]
    assert POLICY.delay(10) == timedelta(seconds=5)
    assert queued.status is Status.QUEUED and queued.last_error == "451 try later"


def test_after_the_last_attempt_a_passing_failure_fails_the_delivery() -> None:
    queued = delivery()
    queued.attempts = 3
    outcome = queued.record_temporary_failure("451 try later", NOW, POLICY)
    assert outcome is not None and outcome.status is Status.FAILED
    assert queued.status is Status.FAILED
    assert queued.last_error == "gave up after 3 attempts: 451 try later"


def test_a_permanent_refusal_fails_the_delivery_at_once() -> None:
    queued = delivery()
    outcome = queued.record_permanent_failure("550 no such user", NOW)
    assert (outcome.status, outcome.error) == (Status.FAILED, "550 no such user")
    assert queued.status is Status.FAILED and queued.next_attempt_at is None


def test_only_a_failed_delivery_can_be_retried_and_it_gets_a_fresh_budget() -> None:
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
