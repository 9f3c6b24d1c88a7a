"""The whole Meet Malmö journey on the real parts, as the people in it live it.

People join the resource pool (one from the portal and the link in their email, the others through a
coordinator), the portal submits an initiative, a coordinator accepts it and confirms the group that
matching proposes, the invited members answer from the links in their emails (one declines and is
replaced), and the originator, the members and the coordinators hear that the group is formed. Every
email is received exactly once.

The four services run under uvicorn on free ports. Every link in an email points at the web's public
URL (MEETMALMO_WEB_PUBLIC_URL), whose page reads and acts through the service's JSON endpoint with the
token from the link; here each link is followed to that endpoint, as the web's page would (the same
journey through the web's pages in a real browser is tests/test_web_journey.py). They share one Kafka
namespace, each has its own PostgreSQL database, and notifications sends to a real SMTP server that
records what it receives.
"""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from shared.auth import issue_local_token
from shared.settings import PlatformSettings
from shared.testing import (
    SERVICES,
    Mailbox,
    eventually,
    link_after,
    links_in,
    query_value,
    running_services,
    text_of,
)

pytestmark = pytest.mark.integration

SECRET = "platform-journey-secret-of-at-least-32-characters"
COORDINATORS = ("eva.coordinator@malmo.se", "omar.coordinator@malmo.se")
STAFF = {
    "Authorization": "Bearer "
    + issue_local_token(PlatformSettings(auth_jwt_secret=SECRET), email=COORDINATORS[0], roles=["coordinator"])
}
WAIT = 20.0  # seconds any one step may take to show (they take well under one)
REFERENCE = re.compile(r"MM-\d{4}-\d{4}")
WEB = "http://web.meetmalmo.test"  # MEETMALMO_WEB_PUBLIC_URL: where every link in an email opens a page


def html_links(message: EmailMessage) -> list[str]:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return [html.unescape(link) for link in re.findall(r'href="(https?://[^"]*)"', str(part.get_content()))]


# --- the platform ---------------------------------------------------------------------------------


@dataclass
class Platform:
    intake: str
    resources: str
    matching: str
    notifications: str
    mailbox: Mailbox  # what the SMTP server received, with the envelope's recipients
    matching_database: str
    browser: httpx.AsyncClient  # what the web asks the services with: no token unless a coordinator's

    async def matching_knows(self, people: int) -> bool:
        """Matching reads initiatives and people from two topics, whose relative order Kafka does not keep;
        in life a coordinator accepts minutes after people registered, here the test waits for the pool."""
        return bool(await query_value(self.matching_database, "SELECT count(*) FROM resources") == people)


@pytest.fixture
async def platform(
    service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[Platform]:
    databases = {name: await service_database(name) for name in SERVICES}
    with running_services(
        databases, kafka_bootstrap, topic_namespace, secret=SECRET, web_public_url=WEB, coordinators=COORDINATORS
    ) as services:
        async with httpx.AsyncClient(follow_redirects=True, timeout=10.0) as browser:
            yield Platform(
                **services.api, mailbox=services.mailbox, matching_database=databases["matching"], browser=browser
            )


# --- what people do -------------------------------------------------------------------------------


# The web's page behind each kind of link, and the JSON endpoint that page reads and posts to.
BEHIND = {
    "confirm": ("resources", "/api/v1/confirmations/{}"),
    "my/profile": ("resources", "/api/v1/my/profile/{}"),
    "my/initiatives": ("intake", "/api/v1/my/initiatives/{}"),
    "invitations": ("matching", "/api/v1/invitations/{}"),
    "unsubscribe": ("notifications", "/api/v1/unsubscribe/{}"),
    "staff/groups": ("matching", "/api/v1/groups/{}"),  # the console's pages, for coordinators
    "staff/initiatives": ("matching", "/api/v1/initiatives/{}"),
}


def behind(platform: Platform, link: str) -> tuple[str, dict[str, str]]:
    """The service endpoint behind a link in an email, with the token (or id) from the link, and the
    headers it needs (a coordinator's token for the console's links)."""
    assert link.startswith(f"{WEB}/"), link
    page, _, token = link.removeprefix(f"{WEB}/").rpartition("/")
    service, endpoint = BEHIND[page]
    return getattr(platform, service) + endpoint.format(token), STAFF if page.startswith("staff/") else {}


async def open_link(platform: Platform, link: str) -> dict[str, Any]:
    """What the link's page shows: the service's answer to a GET (which changes nothing)."""
    url, headers = behind(platform, link)
    answer = await platform.browser.get(url, headers=headers)
    assert answer.status_code == 200, (link, answer.status_code, answer.text[:300])
    return answer.json()  # type: ignore[no-any-return]


async def press_button(platform: Platform, link: str) -> httpx.Response:
    """The page's button: the POST to the same endpoint."""
    url, headers = behind(platform, link)
    return await platform.browser.post(url, headers=headers)


@dataclass(frozen=True)
class Person:
    """Someone in the journey: the body they register with (resources' API), read by name, email, language."""

    body: dict[str, Any]

    name = property(lambda self: str(self.body["name"]))
    email = property(lambda self: str(self.body["email"]))
    language = property(lambda self: str(self.body["language"]))

    def profile(self) -> dict[str, Any]:
        return {**self.body, "capacity": 2}


def person(name: str, email: str, organisation: tuple[str, str], role: str, offers: str, **more: Any) -> Person:
    """`organisation` is (name, type); `offers` is "competence, … / theme, …"."""
    competences, themes = ([code.strip() for code in part.split(",")] for part in offers.split("/"))
    return Person(
        {"name": name, "email": email, "organisation_name": organisation[0], "organisation_type": organisation[1],
         "organisation_number": None, "role_title": role, "competences": competences, "themes": themes,
         "languages": ["sv"], "language": "sv", **more}
    )  # fmt: skip


# The initiative needs recruitment and mentoring. Only Berit recruits and only Maria (Malmö stad) mentors,
# so both are in the group; Dana shares the most themes of the rest. Mats shares as many but is also from
# Malmö stad (one person per organisation), so when Dana declines, the seat goes to Erik.
THREE_THEMES = "employment, competence_provision, establishment_of_new_arrivals"
MALMO_STAD = ("Malmö stad", "municipality")
BERIT = person(
    "Berit Bengtsson", "berit@bengtssons-rekrytering.example", ("Bengtssons Rekrytering AB", "business"), "VD",
    "recruitment / employment, competence_provision", language="en", languages=["sv", "en"],
)  # fmt: skip
MARIA = person(
    "Maria Lind", "maria.lind@malmo.se", MALMO_STAD, "Arbetsmarknadssekreterare",
    f"mentoring, labour_market / {THREE_THEMES}", organisation_number="212000-1124",
)  # fmt: skip
MATS = person(
    "Mats Holm", "mats.holm@malmo.se", MALMO_STAD, "Stadsplanerare", f"urban_planning / {THREE_THEMES}",
    organisation_number="212000-1124",
)  # fmt: skip
DANA = person(
    "Dana Nilsson", "dana@handelskammaren.example", ("Sydsvenska Handelskammaren", "industry_organisation"),
    "Näringspolitisk rådgivare", f"network_building / {THREE_THEMES}",
)  # fmt: skip
ERIK = person(
    "Erik Persson", "erik@oresund-logistik.example", ("Öresund Logistik AB", "business"), "Logistikchef",
    "logistics / employment, competence_provision", organisation_number="556703-7485",
)  # fmt: skip
ORIGINATOR = "anna.andersson@acme.example"
TITLE = "Sommarjobb för unga i Rosengård"
INITIATIVE: dict[str, Any] = {
    "title": TITLE,
    "summary": "Företag i Malmö erbjuder sommarjobb och mentorer till unga i Rosengård, tillsammans med staden.",
    "originator": {
        "organisation_name": "Acme Bygg AB",
        "organisation_type": "business",
        "organisation_number": "5560360793",
        "contact_name": "Anna Andersson",
        "contact_email": ORIGINATOR,
        "contact_phone": "+46701234567",
    },
    "themes": ["employment", "competence_provision", "establishment_of_new_arrivals"],
    "seeking": ["collaboration_partners", "competences"],
    "competences_needed": ["recruitment", "mentoring"],
    "group_size": {"min": 3, "max": 3},
    "language": "sv",
    "consent": True,
}


# --- the journey ----------------------------------------------------------------------------------


async def test_an_initiative_from_the_portal_becomes_a_formed_working_group_with_every_email_sent_once(
    platform: Platform,
) -> None:
    ids = await people_join_the_pool(platform)
    await eventually(lambda: platform.matching_knows(len(ids)), timeout=WAIT)

    initiative = await the_portal_submits_an_initiative(platform)
    group = await a_coordinator_accepts_and_matching_proposes_a_group(platform, initiative, ids)
    await the_coordinator_confirms_and_the_members_answer(platform, initiative, group, ids)
    await everyone_hears_that_the_group_is_formed(platform, initiative, group)

    await every_email_arrived_exactly_once(platform)
    await opening_every_link_again_changes_nothing(platform, initiative, group)


async def people_join_the_pool(platform: Platform) -> dict[str, str]:
    """Berit registers from the portal and confirms from her email; a coordinator registers the others."""
    browser, mailbox, resources = platform.browser, platform.mailbox, platform.resources

    async def status_of(person: Person) -> str:
        found = await browser.get(f"{resources}/api/v1/resources", params={"q": person.email}, headers=STAFF)
        (item,) = found.json()["items"]
        return str(item["status"])

    registered = await browser.post(f"{resources}/api/v1/resources", json={**BERIT.profile(), "consent": True})
    assert registered.status_code == 201, registered.text
    assert registered.json()["status"] == "pending_confirmation"
    ids = {BERIT.email: registered.json()["id"]}

    confirmation = await mailbox.one(BERIT.email, "Confirm your registration with Meet Malmö")
    (confirm_link,) = [link for link in links_in(confirmation) if "/confirm/" in link]
    assert confirm_link.startswith(f"{WEB}/confirm/")
    page = await open_link(platform, confirm_link)
    assert (page["state"], page["name"]) == ("awaiting_confirmation", BERIT.name)
    assert await status_of(BERIT) == "pending_confirmation"  # opening the link (a mail scanner would) changes nothing
    confirmed = await press_button(platform, confirm_link)
    assert confirmed.status_code == 200 and confirmed.json()["just_confirmed"] is True
    assert await status_of(BERIT) == "active"
    again = await press_button(platform, confirm_link)  # a second press (a double click) confirms nothing more
    assert again.status_code == 200
    assert again.json()["state"] == "already_confirmed" and again.json()["just_confirmed"] is False

    welcome = await mailbox.one(BERIT.email, "Welcome to Meet Malmö")
    (profile_link,) = {link for link in links_in(welcome) if "/my/profile/" in link}  # in the text and the footer
    profile = await open_link(platform, profile_link)
    assert (profile["name"], profile["status"]) == (BERIT.name, "active")
    assert profile["id"] == ids[BERIT.email]
    given = await open_link(platform, f"{WEB}/my/profile/{confirmed.json()['profile_token']}")  # "you are confirmed"
    assert given["id"] == ids[BERIT.email]

    for person in (MARIA, MATS, DANA, ERIK):
        direct = await browser.post(f"{resources}/api/v1/resources/direct", json=person.profile(), headers=STAFF)
        assert direct.status_code == 201, direct.text
        assert direct.json()["status"] == "active"
        assert direct.json()["registered_by"] == COORDINATORS[0]
        ids[person.email] = direct.json()["id"]
        welcomed = await mailbox.one(person.email, "Välkommen till Meet Malmö")
        assert any(link.startswith(f"{WEB}/my/profile/") for link in links_in(welcomed))
    return ids


async def the_portal_submits_an_initiative(platform: Platform) -> dict[str, Any]:
    """The receipt carries the reference number and a working status link; each coordinator is alerted."""
    browser, mailbox, intake = platform.browser, platform.mailbox, platform.intake
    key = {"Idempotency-Key": str(uuid.uuid4())}
    submitted = await browser.post(f"{intake}/api/v1/initiatives", json=INITIATIVE, headers=key)
    assert submitted.status_code == 201, submitted.text
    initiative: dict[str, Any] = submitted.json()
    assert REFERENCE.fullmatch(initiative["reference"])
    assert initiative["status"] == "submitted"
    retried = await browser.post(f"{intake}/api/v1/initiatives", json=INITIATIVE, headers=key)  # the portal retries
    assert retried.status_code == 201
    assert retried.json() == initiative
    assert retried.headers["Idempotent-Replayed"] == "true"

    reference = initiative["reference"]
    receipt = await mailbox.one(ORIGINATOR, f"Vi har tagit emot ert initiativ {reference}")
    assert reference in text_of(receipt)
    (status_link,) = [link for link in links_in(receipt) if "/my/initiatives/" in link]
    assert status_link.startswith(f"{WEB}/my/initiatives/")
    status_page = await open_link(platform, status_link)
    assert (status_page["reference"], status_page["title"]) == (reference, TITLE)
    assert status_page["status"] == "submitted"
    initiative["status_link"] = status_link

    for coordinator in COORDINATORS:
        alert = await mailbox.one(coordinator, f"Nytt initiativ {reference}: {TITLE}")
        assert "Anna Andersson" in text_of(alert)
    return initiative


async def intake_status(platform: Platform, initiative: dict[str, Any]) -> str:
    answer = await platform.browser.get(f"{platform.intake}/api/v1/initiatives/{initiative['id']}", headers=STAFF)
    return str(answer.json()["status"])


async def matching_group(platform: Platform, group_id: str) -> dict[str, Any]:
    answer = await platform.browser.get(f"{platform.matching}/api/v1/groups/{group_id}", headers=STAFF)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def a_coordinator_accepts_and_matching_proposes_a_group(
    platform: Platform, initiative: dict[str, Any], ids: dict[str, str]
) -> dict[str, Any]:
    """The originator hears of the acceptance; matching proposes Berit, Maria and Dana, each with the reason,
    and each coordinator is asked to confirm; intake shows the group forming."""
    browser, mailbox = platform.browser, platform.mailbox
    reference = initiative["reference"]
    accepted = await browser.post(f"{platform.intake}/api/v1/initiatives/{initiative['id']}/accept", headers=STAFF)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    told = await mailbox.one(ORIGINATOR, f"Ert initiativ {reference} har godkänts")
    (status_link,) = [link for link in links_in(told) if link.startswith(f"{WEB}/my/initiatives/")]
    seen = await open_link(platform, status_link)  # signed when sent: may be another token
    # Matching may already have proposed the group by the time the originator opens the email.
    assert seen["reference"] == reference and seen["status"] in {"accepted", "group_forming"}

    async def proposals() -> list[dict[str, Any]]:
        answer = await browser.get(
            f"{platform.matching}/api/v1/groups", params={"initiative_id": initiative["id"]}, headers=STAFF
        )
        return answer.json()["items"]  # type: ignore[no-any-return]

    (group,) = await eventually(proposals, timeout=WAIT)
    assert group["status"] == "proposed"
    assert group["uncovered_competences"] == []
    members = {m["resource_id"]: m for m in group["members"]}
    assert set(members) == {ids[BERIT.email], ids[MARIA.email], ids[DANA.email]}
    for member in members.values():
        assert member["explanation"]["text"]
    assert members[ids[MARIA.email]]["explanation"]["municipality_representative"] is True
    assert members[ids[MARIA.email]]["explanation"]["text"].startswith("Municipality representative.")
    assert members[ids[BERIT.email]]["explanation"]["competences_covered"] == ["recruitment"]
    assert members[ids[MARIA.email]]["explanation"]["competences_covered"] == ["mentoring"]

    for coordinator in COORDINATORS:
        proposal = await mailbox.one(coordinator, f"Förslag på arbetsgrupp att bekräfta: {reference}")
        proposal_text = text_of(proposal)
        assert proposal_text.count("Varför: ") == 3
        assert "Varför: Kommunens representant. Bidrar med kompetenser som behövs: Mentorskap." in proposal_text
        for person in (BERIT, MARIA, DANA):
            assert person.name in proposal_text
        review_link = f"{WEB}/staff/groups/{group['id']}"  # the console's page of the proposal
        assert review_link in links_in(proposal)
        assert (await open_link(platform, review_link))["id"] == group["id"]

    await eventually(lambda: _equals(intake_status(platform, initiative), "group_forming"), timeout=WAIT)
    return group


async def the_coordinator_confirms_and_the_members_answer(
    platform: Platform, initiative: dict[str, Any], group: dict[str, Any], ids: dict[str, str]
) -> None:
    """Each member is invited by email; Dana declines from her link and Erik is invited in her place; the
    coordinators hear of it; Berit, Maria and Erik accept from theirs."""
    browser, mailbox = platform.browser, platform.mailbox
    confirmed = await browser.post(f"{platform.matching}/api/v1/groups/{group['id']}/confirm", headers=STAFF)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"

    invitations = {
        BERIT.email: await mailbox.one(BERIT.email, f"Invitation to a working group: {TITLE}"),
        **{p.email: await mailbox.one(p.email, f"Inbjudan till arbetsgrupp: {TITLE}") for p in (MARIA, DANA)},
    }
    for invitation in invitations.values():
        assert initiative["reference"] in text_of(invitation)
        assert all(link.startswith((f"{WEB}/invitations/", f"{WEB}/my/profile/")) for link in links_in(invitation))
    # Each is told why they were chosen, in the language of the rest of their email.
    why_maria = "Därför har vi valt dig: Kommunens representant. Bidrar med kompetenser som behövs: Mentorskap."
    assert why_maria in text_of(invitations[MARIA.email])
    assert "Why we chose you: Covers needed competences: Recruitment." in text_of(invitations[BERIT.email])

    # Dana opens the decline link: the page asks, nothing changes; then she presses the button.
    decline_link = link_after(invitations[DANA.email], "Tacka nej:")
    decline_page = await open_link(platform, decline_link)
    assert (decline_page["answer"], decline_page["open"]) == ("decline", True)
    assert decline_page["initiative_title"] == TITLE
    unchanged = await matching_group(platform, group["id"])
    assert {m["resource_id"]: m["status"] for m in unchanged["members"]}[ids[DANA.email]] == "invited"
    assert unchanged["former_members"] == []
    declined = await press_button(platform, decline_link)
    assert declined.status_code == 200 and declined.json()["status"] == "declined"

    after = await matching_group(platform, group["id"])
    (former,) = after["former_members"]
    assert (former["resource_id"], former["status"]) == (ids[DANA.email], "declined")
    seats = {m["resource_id"]: m for m in after["members"]}
    assert set(seats) == {ids[BERIT.email], ids[MARIA.email], ids[ERIK.email]}
    assert seats[ids[ERIK.email]]["status"] == "invited"
    assert seats[ids[ERIK.email]]["replaces"] == former["seat_id"]

    for coordinator in COORDINATORS:
        replaced = await mailbox.one(
            coordinator, f"Ny medlem inbjuden till arbetsgruppen för {initiative['reference']}"
        )
        assert DANA.name in text_of(replaced)
        assert ERIK.name in text_of(replaced)
    invitations[ERIK.email] = await mailbox.one(ERIK.email, f"Inbjudan till arbetsgrupp: {TITLE}")

    too_late = await open_link(platform, link_after(invitations[DANA.email], "Tacka ja:"))
    assert (too_late["status"], too_late["open"]) == ("declined", False)  # her accept link only says where she stands
    assert (await press_button(platform, link_after(invitations[DANA.email], "Tacka ja:"))).status_code == 409

    # The other three accept at about the same moment; Berit double-clicks.
    accept_links = [
        link_after(invitations[person.email], label)
        for person, label in ((BERIT, "Accept:"), (MARIA, "Tacka ja:"), (ERIK, "Tacka ja:"))
    ]
    accept_pages = await asyncio.gather(*(open_link(platform, link) for link in accept_links))
    assert all((page["answer"], page["open"]) == ("accept", True) for page in accept_pages)
    answers = await asyncio.gather(*(press_button(platform, link) for link in (*accept_links, accept_links[0])))
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 409]  # the double click: once
    assert all(answer.json()["status"] == "accepted" for answer in answers if answer.status_code == 200)
    answered = await asyncio.gather(*(open_link(platform, link) for link in accept_links))
    assert all((page["status"], page["open"]) == ("accepted", False) for page in answered)


async def everyone_hears_that_the_group_is_formed(
    platform: Platform, initiative: dict[str, Any], group: dict[str, Any]
) -> None:
    """The group is formed in matching and in intake; the originator, the members and the coordinators
    each get the group with how to reach each other (Dana, who declined, is not in it)."""
    mailbox = platform.mailbox
    formed = await matching_group(platform, group["id"])
    assert formed["status"] == "formed"
    await eventually(lambda: _equals(intake_status(platform, initiative), "group_formed"), timeout=WAIT)
    status_page = await open_link(platform, initiative["status_link"])
    assert status_page["status"] == "group_formed" and not status_page["can_withdraw"]

    members = (BERIT, MARIA, ERIK)
    to_originator = text_of(await mailbox.one(ORIGINATOR, f"Arbetsgruppen för {TITLE} är bildad"))
    for person in members:
        assert person.name in to_originator
        assert person.email in to_originator
    assert DANA.name not in to_originator

    for person in members:
        subject = (
            f"The working group for {TITLE} is formed" if person.language == "en" else f"Arbetsgruppen för {TITLE}"
        )
        to_member = text_of(await mailbox.one(person.email, subject))
        assert "Anna Andersson" in to_member
        assert all(other.email in to_member for other in members if other is not person)
        assert DANA.name not in to_member

    for coordinator in COORDINATORS:
        to_coordinator = text_of(await mailbox.one(coordinator, f"Arbetsgruppen är bildad: {initiative['reference']}"))
        assert all(person.email in to_coordinator for person in members)


async def delivery_log(platform: Platform) -> list[dict[str, Any]]:
    answer = await platform.browser.get(
        f"{platform.notifications}/api/v1/deliveries", params={"limit": 200}, headers=STAFF
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


async def every_email_arrived_exactly_once(platform: Platform) -> None:
    """Once the delivery log has settled, what the SMTP server received is that log, each email once."""

    async def settled() -> list[dict[str, Any]] | None:
        found = await delivery_log(platform)
        return found if found and all(d["status"] == "sent" for d in found) else None

    deliveries = await eventually(settled, timeout=WAIT)
    received = platform.mailbox.messages
    expected = {
        BERIT.email: 4,  # confirm the registration, welcome, invitation, group formed
        MARIA.email: 3,  # welcome, invitation, group formed
        MATS.email: 1,  # welcome (never invited: Malmö stad has its seat already)
        DANA.email: 2,  # welcome, invitation (declined)
        ERIK.email: 3,  # welcome, invitation as the replacement, group formed
        ORIGINATOR: 3,  # receipt, accepted, group formed
        **dict.fromkeys(COORDINATORS, 4),  # new initiative, proposal, replacement, group formed
    }
    assert Counter(str(m["To"]) for m in received) == expected
    assert len(received) == len(deliveries) == sum(expected.values())
    assert len({m["Message-ID"] for m in received}) == len(received)
    assert len({(m["To"], m["Subject"]) for m in received}) == len(received)
    assert {m["Message-ID"] for m in received} == {d["message_id"] for d in deliveries}
    assert all(recipients == [str(m["To"])] for recipients, m in platform.mailbox.received)


async def opening_every_link_again_changes_nothing(
    platform: Platform, initiative: dict[str, Any], group: dict[str, Any]
) -> None:
    """A mail scanner (or a curious reader) opens every link of every email once more: each answers (the
    console's links for a coordinator) and nothing changes anywhere."""
    browser = platform.browser

    async def everything() -> tuple[Any, ...]:
        return (
            await matching_group(platform, group["id"]),
            (await browser.get(f"{platform.intake}/api/v1/initiatives/{initiative['id']}", headers=STAFF)).json(),
            (await browser.get(f"{platform.resources}/api/v1/resources", headers=STAFF)).json(),
        )

    before = await everything()
    received = platform.mailbox.messages
    for message in received:
        assert set(html_links(message)) == set(links_in(message)), message["Subject"]
    for link in sorted({link for m in received for link in links_in(m)}):
        await open_link(platform, link)
    assert await everything() == before
    assert before[0]["status"] == "formed"


async def _equals(value: Awaitable[str], expected: str) -> bool:
    return await value == expected
