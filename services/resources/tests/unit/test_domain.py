"""The resource aggregate and its value rules, without any I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.resources.domain import (
    ConfirmationLinkExpired,
    ConfirmationLinkReplaced,
    LinkState,
    RegistrationOutcome,
    Resource,
    Status,
)
from services.resources.domain.profile import (
    normalise_email,
    normalise_language_code,
    normalise_sector,
    normalise_tags,
    unique,
)
from services.resources.tests.factories import a_profile
from shared.errors import InvalidTransition
from shared.validation import normalise_organisation_number, normalise_phone, plain_text

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pending(secret: str = "s3cret") -> Resource:  # noqa: S107 - a test secret
    return Resource.register(uuid.uuid4(), a_profile(), secret, NOW)


def active() -> Resource:
    resource = pending()
    resource.confirm("s3cret", NOW)
    return resource


def in_status(status: Status) -> Resource:
    resource = active()
    if status is Status.PENDING_CONFIRMATION:
        return pending()
    if status is Status.PAUSED:
        resource.pause(NOW)
    if status is Status.WITHDRAWN:
        resource.withdraw(None, NOW)
    return resource


# --- registration and confirmation -----------------------------------------------------------------


def test_a_registration_waits_for_confirmation_and_keeps_only_a_hash_of_the_secret() -> None:
    resource = pending("s3cret")

    assert resource.status is Status.PENDING_CONFIRMATION and resource.registered_by == "self"
    assert resource.confirmation_digest is not None and "s3cret" not in resource.confirmation_digest
    assert resource.confirmation_expires_at == NOW + timedelta(days=7)
    assert not resource.announced


def test_confirming_with_the_secret_activates_once() -> None:
    resource = pending("s3cret")

    assert resource.confirm("s3cret", NOW + timedelta(hours=1)) is True
    assert resource.status is Status.ACTIVE and resource.confirmed_at == NOW + timedelta(hours=1)
    assert resource.confirmation_digest is None
    assert resource.confirm("s3cret", NOW + timedelta(hours=2)) is False  # a used link does nothing
    assert resource.confirmed_at == NOW + timedelta(hours=1)


def test_a_used_link_reads_as_already_confirmed() -> None:
    resource = active()

    assert resource.link_state("s3cret", NOW) is LinkState.ALREADY_CONFIRMED


def test_a_link_expires_after_seven_days() -> None:
    resource = pending("s3cret")

    assert resource.link_state("s3cret", NOW + timedelta(days=7, seconds=-1)) is LinkState.AWAITING_CONFIRMATION
    assert resource.link_state("s3cret", NOW + timedelta(days=7)) is LinkState.EXPIRED
    with pytest.raises(ConfirmationLinkExpired):
        resource.confirm("s3cret", NOW + timedelta(days=8))
    assert resource.status is Status.PENDING_CONFIRMATION


def test_a_wrong_or_replaced_secret_confirms_nothing() -> None:
    resource = pending("first")
    resource.register_again("second", NOW + timedelta(days=1))

    assert resource.link_state("first", NOW) is LinkState.REPLACED
    with pytest.raises(ConfirmationLinkReplaced):
        resource.confirm("first", NOW)
    assert resource.confirm("second", NOW + timedelta(days=7)) is True  # the new link runs 7 days from re-sending


def test_registering_again_while_pending_sends_a_new_link_and_keeps_the_details_on_file() -> None:
    resource = pending()
    before = resource.profile

    outcome = resource.register_again("again", NOW)

    assert outcome is RegistrationOutcome.CONFIRMATION_SENT
    assert resource.profile == before  # the sender may not own the address
    assert resource.link_state("again", NOW) is LinkState.AWAITING_CONFIRMATION


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.PAUSED])
def test_registering_again_while_present_changes_nothing(status: Status) -> None:
    resource = in_status(status)

    outcome = resource.register_again("again", NOW)

    assert outcome is RegistrationOutcome.ALREADY_REGISTERED
    assert resource.status is status and resource.profile.role_title == "HR-chef"
    assert resource.link_state("again", NOW) is LinkState.ALREADY_CONFIRMED


def test_registering_again_after_withdrawing_mails_a_link_back_and_changes_nothing_until_it_is_pressed() -> None:
    resource = Resource.register_directly(uuid.uuid4(), a_profile(), "eva@malmo.se", NOW)
    resource.withdraw("left the city", NOW)

    outcome = resource.register_again("back", NOW)

    assert outcome is RegistrationOutcome.CONFIRMATION_SENT
    assert resource.status is Status.WITHDRAWN and resource.withdrawal_reason == "left the city"
    assert resource.confirm("back", NOW) and resource.status is Status.ACTIVE
    assert resource.withdrawal_reason is None and resource.profile == a_profile()


def test_a_coordinator_registration_is_active_at_once() -> None:
    resource = Resource.register_directly(uuid.uuid4(), a_profile(), "eva@malmo.se", NOW)

    assert resource.status is Status.ACTIVE and resource.registered_by == "eva@malmo.se" and resource.announced


# --- the status machine ----------------------------------------------------------------------------


def test_pause_and_resume_go_back_and_forth_and_repeats_do_nothing() -> None:
    resource = active()

    assert resource.pause(NOW) is True and resource.status is Status.PAUSED
    assert resource.pause(NOW) is False
    assert resource.resume(NOW) is True and resource.status is Status.ACTIVE
    assert resource.resume(NOW) is False


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.PAUSED])
def test_withdrawing_keeps_the_reason(status: Status) -> None:
    resource = in_status(status)

    assert resource.withdraw("moved abroad", NOW) is True
    assert resource.status is Status.WITHDRAWN and resource.withdrawal_reason == "moved abroad"
    assert resource.withdraw("again", NOW) is False and resource.withdrawal_reason == "moved abroad"


ILLEGAL = [
    (Status.PENDING_CONFIRMATION, "pause"),
    (Status.PENDING_CONFIRMATION, "resume"),
    (Status.PENDING_CONFIRMATION, "withdraw"),
    (Status.WITHDRAWN, "pause"),
    (Status.WITHDRAWN, "resume"),
    (Status.WITHDRAWN, "update"),
]


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_illegal_moves_are_refused_with_the_current_status(status: Status, action: str) -> None:
    resource = in_status(status)
    moves = {
        "pause": lambda: resource.pause(NOW),
        "resume": lambda: resource.resume(NOW),
        "withdraw": lambda: resource.withdraw(None, NOW),
        "update": lambda: resource.update(a_profile(), NOW),
    }

    with pytest.raises(InvalidTransition) as refused:
        moves[action]()

    assert refused.value.current_status == status.value
    assert resource.status is status


@pytest.mark.parametrize("status", [Status.PENDING_CONFIRMATION, Status.ACTIVE, Status.PAUSED])
def test_the_profile_can_be_updated_until_withdrawn(status: Status) -> None:
    resource = in_status(status)

    resource.update(a_profile(capacity=4), NOW + timedelta(days=1))

    assert resource.profile.capacity == 4 and resource.updated_at == NOW + timedelta(days=1)
    assert resource.status is status


# --- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("070-123 45 67", "+46701234567"), ("040-34 10 00", "+4640341000"), ("+4520123456", "+4520123456")],
)
def test_phone_numbers_become_e164_and_swedish_is_the_default_region(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12", "not a number", "+46 70 123", "+999 123456789"])
def test_impossible_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        normalise_phone(raw)


def test_organisation_numbers_need_a_valid_check_digit() -> None:
    assert normalise_organisation_number("5560360793") == "556036-0793"
    assert normalise_organisation_number("556036-0793") == "556036-0793"
    with pytest.raises(ValueError, match="checksum"):
        normalise_organisation_number("556036-0792")
    with pytest.raises(ValueError, match="length"):
        normalise_organisation_number("55603607")


def test_sectors_are_sni_section_letters() -> None:
    assert normalise_sector("f") == "F" and normalise_sector("U") == "U"
    with pytest.raises(ValueError, match="SNI"):
        normalise_sector("V")


def test_languages_are_iso_639_1_codes() -> None:
    assert normalise_language_code("AR") == "ar"
    with pytest.raises(ValueError, match="ISO 639-1"):
        normalise_language_code("xx")


def test_tags_are_trimmed_and_kept_once_whatever_the_case() -> None:
    assert normalise_tags([" lärlingar ", "Lärlingar", "", "bygg  och   anläggning"]) == (
        "lärlingar",
        "bygg och anläggning",
    )


def test_emails_are_compared_in_lower_case_and_bounded() -> None:
    assert normalise_email(" Anna@Example.SE ") == "anna@example.se"
    with pytest.raises(ValueError, match="254"):
        normalise_email("a" * 250 + "@x.se")


def test_control_characters_are_refused_in_text() -> None:
    assert plain_text("Anna Åkesson") == "Anna Åkesson"
    with pytest.raises(ValueError, match="control"):
        plain_text("Anna\x00")


def test_unique_keeps_the_first_order() -> None:
    assert unique(["b", "a", "b"]) == ("b", "a")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"competences": ()}, "competences"),
        ({"themes": ()}, "themes"),
        ({"languages": ()}, "languages"),
        ({"capacity": 6}, "capacity"),
    ],
)
def test_a_profile_cannot_break_its_invariants(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        a_profile(**changes)
