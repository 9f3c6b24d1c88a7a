"""Who gets which email, and how it reads: every template in both languages. No I/O beyond the template files."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest

from services.notifications.adapters.rendering import Renderer
from services.notifications.domain import (
    PROFILE_LINK,
    NotAnAbsoluteUrl,
    PlannedEmail,
    RecipientRole,
    Rendered,
    Template,
    plan_emails,
)
from shared.contracts import Event
from shared.contracts.resources import ProfileLinkReason, ResourceProfileLinkRequested
from shared.taxonomy import Language

from .. import factories
from ..factories import COORDINATORS, WEB

renderer = Renderer()
PROFILE_VERSION = 2  # the version notifications keeps for a member's footer
SIGNED = "http://127.0.0.1:8000/my/profile/signed-at-send-time"  # what the sender puts in PROFILE_LINK's place
HREF = re.compile(r'href="([^"]+)"')


def sent(rendered: Rendered) -> Rendered:
    """The text as the sender hands it over: the profile link signed into its placeholder."""
    return Rendered(
        rendered.subject, rendered.text.replace(PROFILE_LINK, SIGNED), rendered.html.replace(PROFILE_LINK, SIGNED)
    )


def links_of(event: Event, email: PlannedEmail) -> set[str]:
    """The links this email must carry, taken from the event (and the profile link the sender signs in)."""
    candidates = ("status_url", "review_url", "confirm_url", "accept_url", "decline_url")
    links = {getattr(event, name) for name in candidates if isinstance(getattr(event, name, None), str)}
    if email.role is RecipientRole.COORDINATOR:
        links.discard(getattr(event, "status_url", None))  # the originator's private link stays theirs
        links.add(email.context["review_url"])  # where they act on it, in the staff console
    if email.context.get("profile_url"):
        links.add(SIGNED)
    return {link for link in links if link}


EVENTS: dict[str, Callable[[Language], Event]] = {
    "InitiativeSubmitted": factories.submitted,
    "InitiativeUpdated": factories.updated,
    "InitiativeAccepted": factories.accepted,
    "InitiativeRejected": factories.rejected,
    "InitiativeInfoRequested": factories.info_requested,
    "InitiativeStatusLinkRequested": factories.status_link_requested,
    "ResourceConfirmationRequested": factories.confirmation_requested,
    "ResourceRegistered": lambda language: factories.registered(language),
    "ResourceProfileLinkRequested": factories.profile_link_requested,
    "GroupProposed": lambda _: factories.proposed(),
    "MemberReplaced": lambda _: factories.replaced(),
    "MemberInvited": lambda language: factories.invited(language),
    "GroupFormed": lambda language: factories.formed(language),
    "GroupFormationBlocked": lambda _: factories.formation_blocked(),
}


def every_email() -> list[tuple[str, Language, PlannedEmail, Event]]:
    found = []
    for name, make in EVENTS.items():
        for language in Language:
            event = make(language)
            profile_links = {m.resource_id: PROFILE_VERSION for m in getattr(event, "members", ()) if m.resource_id}
            if hasattr(event, "member") and event.member.resource_id:
                profile_links[event.member.resource_id] = PROFILE_VERSION
            found += [(name, language, email, event) for email in plan_emails(event, COORDINATORS, profile_links, WEB)]
    return found


def test_every_template_is_planned_for_some_event_in_both_languages() -> None:
    planned = {(email.template, email.language) for _, _, email, _ in every_email()}
    for template in Template:
        if template is Template.COORDINATOR_DIGEST:
            continue  # made by the daily digest, not by an event (test_digest.py)
        assert (template, Language.SV) in planned, template
        if not template.value.startswith("coordinator_"):
            assert (template, Language.EN) in planned, template


@pytest.mark.parametrize(("name", "language", "email", "event"), every_email(), ids=lambda v: str(v)[:40])
def test_every_email_renders_with_its_links_present_and_absolute(
    name: str, language: Language, email: PlannedEmail, event: Event
) -> None:
    stored = renderer.render(email.template, email.language, email.context)
    # The stored text holds the placeholder exactly where the profile link goes, and never a profile link.
    assert (PROFILE_LINK in stored.text) is (email.profile_link_version is not None), email.template
    assert "/my/profile/" not in stored.text + stored.html
    rendered = sent(stored)

    assert rendered.subject and "\n" not in rendered.subject
    for link in links_of(event, email):
        assert link.startswith(("http://", "https://")), link
        assert link in rendered.text, (email.template, link)
        assert f'href="{link}"' in rendered.html, (email.template, link)
    hrefs = HREF.findall(rendered.html)
    assert all(href.startswith(("http://", "https://", "mailto:")) for href in hrefs), hrefs
    assert f'<html lang="{email.language.value}">' in rendered.html
    assert "{{" not in rendered.text and "{%" not in rendered.html


@pytest.mark.parametrize("template", [t for t in Template if not t.value.startswith("coordinator_")])
def test_each_template_reads_differently_in_english_and_swedish(template: Template) -> None:
    emails = [e for _, _, e, _ in every_email() if e.template is template]
    by_language = {e.language: renderer.render(e.template, e.language, e.context) for e in emails}
    sv, en = by_language[Language.SV], by_language[Language.EN]
    assert sv.subject != en.subject
    assert "Det här mejlet skickades automatiskt" in sv.text and "This email was sent automatically" in en.text


def test_a_language_without_templates_falls_back_to_swedish() -> None:
    email = plan_emails(factories.submitted(), COORDINATORS, {}, WEB)[0]
    swedish = renderer.render(email.template, "sv", email.context)
    assert renderer.render(email.template, "de", email.context) == swedish
    assert swedish.subject == "Vi har tagit emot ert initiativ MM-2026-0042"


def test_html_is_escaped_and_the_plain_text_is_not() -> None:
    event = factories.submitted()
    alert = next(e for e in plan_emails(event, COORDINATORS, {}, WEB) if e.role is RecipientRole.COORDINATOR)
    rendered = renderer.render(alert.template, alert.language, alert.context)
    assert "sommarjobb <tillsammans> & följer upp" in rendered.text
    assert "sommarjobb &lt;tillsammans&gt; &amp; följer upp" in rendered.html
    assert "<tillsammans>" not in rendered.html


def test_the_receipt_gives_the_reference_and_the_private_status_link_in_the_initiatives_language() -> None:
    event = factories.submitted(Language.EN)
    receipt = plan_emails(event, COORDINATORS, {}, WEB)[0]
    rendered = renderer.render(receipt.template, receipt.language, receipt.context)
    assert (receipt.template, receipt.recipient, receipt.language) == (
        Template.ORIGINATOR_RECEIPT,
        "karin.lind@example.org",
        Language.EN,
    )
    assert rendered.subject == "We have received your initiative MM-2026-0042"
    assert event.status_url in rendered.text


def test_dates_are_shown_in_malmo_time_in_the_readers_language() -> None:
    sv = plan_emails(factories.confirmation_requested(Language.SV), COORDINATORS, {}, WEB)[0]
    en = plan_emails(factories.confirmation_requested(Language.EN), COORDINATORS, {}, WEB)[0]
    # 2026-11-29 13:00 UTC is 14:00 in Malmö (CET)
    assert "29 november 2026 kl. 14:00" in renderer.render(sv.template, sv.language, sv.context).text
    assert "29 November 2026, 14:00" in renderer.render(en.template, en.language, en.context).text


def test_taxonomy_codes_are_shown_with_their_labels() -> None:
    alert = plan_emails(factories.submitted(), COORDINATORS, {}, WEB)[1]
    text = renderer.render(alert.template, alert.language, alert.context).text
    assert "Teman: Sysselsättning, Stadsutveckling" in text
    assert "employment" not in text


def test_a_submitted_initiative_means_a_receipt_and_one_swedish_alert_per_coordinator() -> None:
    event = factories.submitted(Language.EN)
    emails = plan_emails(event, [*COORDINATORS, COORDINATORS[0].upper()], {}, WEB)
    assert [(e.template, e.recipient, e.role, e.language) for e in emails] == [
        (Template.ORIGINATOR_RECEIPT, "karin.lind@example.org", RecipientRole.ORIGINATOR, Language.EN),
        (Template.COORDINATOR_INITIATIVE_SUBMITTED, COORDINATORS[0], RecipientRole.COORDINATOR, Language.SV),
        (Template.COORDINATOR_INITIATIVE_SUBMITTED, COORDINATORS[1], RecipientRole.COORDINATOR, Language.SV),
    ]
    assert all(e.initiative_id == event.initiative_id for e in emails)


def test_decisions_go_to_the_originator_only_and_an_answer_to_the_coordinators_only() -> None:
    for event, template in [
        (factories.accepted(), Template.ORIGINATOR_ACCEPTED),
        (factories.rejected(), Template.ORIGINATOR_REJECTED),
        (factories.info_requested(), Template.ORIGINATOR_INFO_REQUESTED),
    ]:
        assert [(e.template, e.role) for e in plan_emails(event, COORDINATORS, {}, WEB)] == [
            (template, RecipientRole.ORIGINATOR)
        ]
    answered = plan_emails(factories.updated(), COORDINATORS, {}, WEB)
    assert {(e.template, e.role) for e in answered} == {
        (Template.COORDINATOR_INITIATIVE_UPDATED, RecipientRole.COORDINATOR)
    }
    assert len(answered) == 2


def test_a_formed_group_reaches_every_member_the_originator_and_the_coordinators() -> None:
    event = factories.formed(Language.EN)
    emails = plan_emails(event, COORDINATORS, {}, WEB)
    members = [e for e in emails if e.template is Template.GROUP_FORMED]
    assert [(e.recipient, e.role) for e in members] == [
        ("karin.lind@example.org", RecipientRole.ORIGINATOR),
        ("ali.hassan@example.org", RecipientRole.RESOURCE),
        ("sara.berg@malmo.se", RecipientRole.RESOURCE),
    ]
    assert len([e for e in emails if e.template is Template.COORDINATOR_GROUP_FORMED]) == 2
    resource_ids = {m.resource_id for m in event.members if m.resource_id}
    assert all(e.mentions == resource_ids for e in emails)  # erasing any member clears every copy


def test_the_group_formed_email_shows_the_others_and_how_to_reach_them() -> None:
    email = plan_emails(factories.formed(), [], {}, WEB)[1]
    text = renderer.render(email.template, email.language, email.context).text
    assert "karin.lind@example.org" in text and "sara.berg@malmo.se" in text
    assert "Hej Ali Hassan!" in text and "- Ali Hassan" not in text


def test_an_invitation_says_why_the_person_was_chosen_and_carries_the_profile_link_in_the_footer() -> None:
    event = factories.invited(Language.EN)
    assert event.member.resource_id is not None
    email = plan_emails(event, COORDINATORS, {event.member.resource_id: PROFILE_VERSION}, WEB)[0]
    rendered = renderer.render(email.template, email.language, email.context)
    assert (email.resource_id, email.profile_link_version) == (event.member.resource_id, PROFILE_VERSION)
    assert "Why we chose you: Ali kan projektledning & <bygg>." in rendered.text
    assert "Ali kan projektledning &amp; &lt;bygg&gt;." in rendered.html
    assert f"Your profile – update, export or erase your data: {PROFILE_LINK}" in rendered.text


def test_an_invitation_without_a_known_profile_link_goes_out_without_that_footer() -> None:
    email = plan_emails(factories.invited(), COORDINATORS, {}, WEB)[0]
    rendered = renderer.render(email.template, email.language, email.context)
    assert "Din profil" not in rendered.text and "Din profil" not in rendered.html
    assert email.profile_link_version is None and PROFILE_LINK not in rendered.text


@pytest.mark.parametrize(
    ("language", "button"), [(Language.SV, "Granska initiativet i konsolen"), (Language.EN, "Review it in the console")]
)
def test_a_new_initiative_alert_links_to_the_initiative_in_the_staff_console(language: Language, button: str) -> None:
    event = factories.submitted()
    alert = next(e for e in plan_emails(event, COORDINATORS, {}, WEB + "/") if e.role is RecipientRole.COORDINATOR)
    rendered = renderer.render(alert.template, language, alert.context)
    console = f"{WEB}/staff/initiatives/{event.initiative_id}"
    assert f"{button}:\n{console}\n" in rendered.text
    assert f'<a href="{console}" style="display:inline-block;' in rendered.html and f">{button}</a>" in rendered.html


def test_a_proposal_links_to_the_view_matching_carried_and_other_group_alerts_to_the_group_in_the_console() -> None:
    proposed = factories.proposed()
    [review, *_] = plan_emails(proposed, COORDINATORS, {}, WEB)
    assert review.context["review_url"] == proposed.review_url
    for event in (factories.replaced(), factories.formed()):
        alert = next(e for e in plan_emails(event, COORDINATORS, {}, WEB) if e.role is RecipientRole.COORDINATOR)
        rendered = renderer.render(alert.template, alert.language, alert.context)
        assert f"Se gruppen i konsolen:\n{WEB}/staff/groups/{event.group_id}\n" in rendered.text
    answered = plan_emails(factories.updated(), COORDINATORS, {}, WEB)[0]
    assert answered.context["review_url"] == f"{WEB}/staff/initiatives/{answered.initiative_id}"


def test_a_relative_link_in_an_event_is_refused_rather_than_mailed() -> None:
    event = factories.submitted(status_url="/status/123")
    with pytest.raises(NotAnAbsoluteUrl):
        plan_emails(event, COORDINATORS, {}, WEB)


def test_events_that_send_nothing_plan_nothing() -> None:
    assert plan_emails(factories.erased(uuid.uuid4()), COORDINATORS, {}, WEB) == []
    assert plan_emails(factories.withdrawn(uuid.uuid4()), COORDINATORS, {}, WEB) == []


def test_without_coordinators_configured_only_the_originator_is_written_to() -> None:
    assert [e.role for e in plan_emails(factories.submitted(), [], {}, WEB)] == [RecipientRole.ORIGINATOR]


@pytest.mark.parametrize(
    ("language", "explanation", "why"),
    [
        (
            Language.SV,
            "Kommunens representant. Delar teman: Sysselsättning. Belastning: i ingen annan grupp, kapacitet 2.",
            "Därför har vi valt dig:",
        ),
        (
            Language.EN,
            "Municipality representative. Shares themes: Employment. Load: in no other group, capacity 2.",
            "Why we chose you:",
        ),
    ],
)
def test_a_municipality_representative_is_told_the_role_she_fills_in_matchings_words(
    language: Language, explanation: str, why: str
) -> None:
    seat = factories.member("Sara Berg", "sara.berg@malmo.se", "municipality_representative", language)
    event = factories.invited(language, seat=seat.model_copy(update={"explanation": explanation}))
    email = plan_emails(event, COORDINATORS, {}, WEB)[0]
    rendered = renderer.render(email.template, email.language, email.context)
    assert f"{why} {explanation}" in rendered.text
    assert f"<strong>{why}</strong> {explanation}</p>" in rendered.html
    for added in ("none of the needed competences", "någon av de kompetenser", "Covers none", "Bidrar inte"):
        assert added not in rendered.text and added not in rendered.html


@pytest.mark.parametrize(
    ("reason", "english", "swedish", "says"),
    [
        (ProfileLinkReason.REGISTERED_AGAIN, "You are already registered with Meet Malmö",
         "Du är redan registrerad i Meet Malmö", "You are already registered as a resource"),
        (ProfileLinkReason.ASKED, "Your Meet Malmö profile link", "Din profillänk till Meet Malmö",
         "your earlier links still work"),
        (ProfileLinkReason.RENEWED, "Your new Meet Malmö profile link", "Din nya profillänk till Meet Malmö",
         "The link in our earlier emails no longer works"),
    ],
)  # fmt: skip
def test_the_profile_link_email_says_why_it_came(
    reason: ProfileLinkReason, english: str, swedish: str, says: str
) -> None:
    """A renewal does not tell the owner they are "already registered", and says the old link stopped working."""
    for language, subject in ((Language.EN, english), (Language.SV, swedish)):
        (email,) = plan_emails(factories.profile_link_requested(language, reason), COORDINATORS, {}, WEB)
        rendered = sent(renderer.render(email.template, email.language, email.context))
        assert rendered.subject == subject
        assert SIGNED in rendered.text
    english_text = sent(renderer.render(email.template, Language.EN, email.context))
    assert says in english_text.text and says in english_text.html


def test_a_profile_link_event_from_before_its_reason_reads_as_registered_again() -> None:
    event = factories.profile_link_requested()
    written_before = event.model_dump(mode="json", exclude={"reason"})
    assert ResourceProfileLinkRequested.model_validate(written_before).reason is ProfileLinkReason.REGISTERED_AGAIN
