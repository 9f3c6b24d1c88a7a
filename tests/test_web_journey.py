"""Issue 14's journey in a real Chromium, through the web's pages, on the real services, Kafka, PostgreSQL
and an SMTP server that keeps what it receives.

A person submits an initiative through the portal form (first forgetting two fields, which the form
points out), gets the receipt and follows its private link; the coordinator signs in (local sign-in),
finds it in the inbox, makes themselves its lead and accepts it; sees the working group matching
proposes, with each member's reasons, swaps one member for the suggested replacement and confirms; the
members answer from the links in their emails, in the browser; and the console shows the group formed.

Along the way the main pages are photographed into docs/screenshots/ for the README (in English).
The people in the pool are registered through the API beforehand, as the README's walk does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page

from services.web.adapters.rendering import HERE
from services.web.tests.browser import (
    _chromium,  # noqa: F401 - the `chromium` fixture
    assert_accessible,
    assert_no_browser_errors,
    new_context,
    screenshot,
    watch_for_errors,
)
from services.web.tests.integration.platform import (
    COORDINATOR,
    WAIT,
    Platform,
    link_after,
    links_in,
    running_platform,
)
from shared.i18n import Catalogs
from shared.testing import eventually, query_value

pytestmark = pytest.mark.integration

CATALOGS = Catalogs(HERE / "translations")
ORIGINATOR = "anna.andersson@acme.example"
TITLE = "Summer jobs for young people in Rosengård"


def say(english: str, language: str = "en") -> str:
    """What the web says for `english` in `language` (through its own catalog)."""
    return CATALOGS.gettext(language, english)


def person(name: str, email: str, organisation: str, kind: str, competences: list[str], **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "email": email,
        "organisation_name": organisation,
        "organisation_type": kind,
        "role_title": more.pop("role_title", "Specialist"),
        "competences": competences,
        "themes": ["employment", "competence_provision"],
        "languages": ["sv", "en"],
        "capacity": 2,
        "language": more.pop("language", "en"),
        **more,
    }


BERIT, MARIA = "berit@bengtssons-rekrytering.example", "maria.lind@malmo.se"
INVITATION = {"en": "Invitation to a working group: ", "sv": "Inbjudan till arbetsgrupp: "}  # the emails' words
ACCEPT_LINE = {"en": "Accept:", "sv": "Tacka ja:"}
# Matching needs recruitment and mentoring: only Berit recruits and only Maria (Malmö stad) mentors, so both
# are proposed; the third seat goes to one of Dana and Erik, and the coordinator swaps that seat.
POOL = [
    person("Berit Bengtsson", BERIT, "Bengtssons Rekrytering AB", "business",
           ["recruitment"], organisation_number="556036-0793"),
    person("Maria Lind", MARIA, "Malmö stad", "municipality", ["mentoring", "labour_market"],
           organisation_number="212000-1124", language="sv"),
    person("Dana Nilsson", "dana@handelskammaren.example", "Sydsvenska Handelskammaren", "industry_organisation",
           ["network_building"]),
    person("Erik Persson", "erik@oresund-logistik.example", "Öresund Logistik AB", "business", ["logistics"],
           organisation_number="556703-7485"),
]  # fmt: skip


@pytest.fixture
async def platform(postgres_server: str, kafka_bootstrap: str, topic_namespace: str) -> AsyncIterator[Platform]:
    async with running_platform(postgres_server, kafka_bootstrap, topic_namespace) as platform:
        yield platform


async def window(browser: Browser, language: str = "en") -> tuple[BrowserContext, Page]:
    """A person's own browser: no cookies, their language, JavaScript on."""
    context = await new_context(browser, language={"en": "en-GB", "sv": "sv-SE"}[language])
    page = await context.new_page()
    watch_for_errors(page)
    return context, page


async def test_an_initiative_from_the_portal_form_becomes_a_formed_working_group_in_the_browser(
    platform: Platform, chromium: Browser
) -> None:
    ids = await the_pool_is_ready(platform)
    reference = await a_person_submits_through_the_portal_form(platform, chromium)
    await the_originator_follows_the_private_link_in_the_receipt(platform, chromium, reference)
    coordinator = await the_coordinator_signs_in(platform, chromium)
    await the_coordinator_finds_it_in_the_inbox_takes_the_lead_and_accepts(platform, coordinator, reference)
    swapped_in = await the_coordinator_sees_the_proposal_with_reasons_swaps_one_member_and_confirms(
        platform, coordinator, ids
    )
    invitations = await the_members_are_invited_by_email(platform, swapped_in)
    await the_members_answer_from_their_emails_links(platform, chromium, invitations)
    await the_console_shows_the_group_formed(platform, coordinator, reference)
    await coordinator.context.close()


async def the_pool_is_ready(platform: Platform) -> dict[str, str]:
    """A coordinator has registered four people (active at once); matching has heard of all four.
    Their ids by email."""
    ids = {}
    for profile in POOL:
        answer = await platform.client.post(
            f"{platform.api['resources']}/api/v1/resources/direct", json=profile, headers=platform.staff()
        )
        assert answer.status_code == 201, answer.text
        ids[profile["email"]] = answer.json()["id"]

    async def matching_knows_them() -> bool:
        count = await query_value(platform.databases["matching"], "SELECT count(*) FROM resources")
        return bool(count == len(POOL))

    await eventually(matching_knows_them, timeout=WAIT)
    return ids


async def a_person_submits_through_the_portal_form(platform: Platform, browser: Browser) -> str:
    """Anna opens the portal, starts the form, forgets her name and the consent; the form says so beside
    each field and keeps what she typed; she fills them in and gets her reference number."""
    context, page = await window(browser)
    await page.goto(platform.web)
    await assert_accessible(page)
    await screenshot(page, "portal")
    await page.get_by_role("main").get_by_role("link", name=say("Submit an initiative")).click()
    await page.wait_for_url(f"{platform.web}/initiatives/new")

    await page.get_by_label(say("Title")).fill(TITLE)
    await page.get_by_label(say("Summary")).fill(
        "Companies in Malmö offer summer jobs and mentors to young people in Rosengård, together with the city."
    )
    await page.get_by_role("group", name=say("Themes")).get_by_label("Employment").check()
    await page.get_by_role("group", name=say("What you are looking for")).get_by_label("Collaboration partners").check()
    competences = page.get_by_role("group", name=say("Competences needed"))
    await competences.get_by_label("Recruitment").check()
    await competences.get_by_label("Mentoring").check()
    await page.get_by_label(say("Smallest group")).fill("3")
    await page.get_by_label(say("Largest group")).fill("3")
    await page.get_by_label(say("Organisation"), exact=True).fill("Acme Bygg AB")
    await page.get_by_label(say("Type of organisation")).select_option(label="Business")
    await page.get_by_label(say("Your email")).fill(ORIGINATOR)
    await page.get_by_role("button", name=say("Send the initiative")).click()

    summary = page.get_by_role("alert")
    await summary.wait_for()
    pointed_at = {await link.get_attribute("href") for link in await summary.get_by_role("link").all()}
    assert pointed_at == {"#originator-contact_name", "#consent"}
    assert await page.get_by_label(say("Title")).input_value() == TITLE
    await assert_accessible(page)
    await screenshot(page, "form-with-errors", full_page=False)

    await page.get_by_label(say("Your name")).fill("Anna Andersson")
    await page.get_by_role("group", name=say("Consent")).get_by_role("checkbox").check()
    await page.get_by_role("button", name=say("Send the initiative")).click()
    await page.wait_for_url(f"{platform.web}/initiatives/received")
    reference = await page.locator(".reference").inner_text()
    assert reference.startswith("MM-")
    await assert_accessible(page)
    await screenshot(page, "receipt")
    assert_no_browser_errors(page, status=422)
    await context.close()
    return reference


async def the_originator_follows_the_private_link_in_the_receipt(
    platform: Platform, browser: Browser, reference: str
) -> None:
    """The receipt (in Swedish: she wrote the initiative in Swedish, the form's default) carries her reference
    and a private link to the web's status page."""
    receipt = await platform.mailbox.one(ORIGINATOR, f"Vi har tagit emot ert initiativ {reference}")
    (status_link,) = links_in(receipt, "/my/initiatives/")
    assert status_link.startswith(f"{platform.web}/my/initiatives/")
    context, page = await window(browser, "sv")
    await page.goto(status_link)
    assert await page.get_by_role("heading", level=1).inner_text() == TITLE
    assert reference in await page.get_by_role("main").inner_text()
    await assert_accessible(page)
    assert_no_browser_errors(page)
    await context.close()


async def press(page: Page, english: str, language: str = "en") -> None:
    """Press the button (a form's POST) and wait for the page it leads to."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=say(english, language), exact=True).click()


@dataclass
class Coordinator:
    """The coordinator's browser, signed in."""

    context: BrowserContext
    page: Page


async def the_coordinator_signs_in(platform: Platform, browser: Browser) -> Coordinator:
    """Eva opens the console, is sent to the local sign-in, signs in and is back where she was going."""
    context, page = await window(browser)
    await page.goto(f"{platform.web}/staff")
    await page.wait_for_url(f"{platform.web}/staff/sign-in?next=/staff")
    await page.get_by_label(say("Your name")).fill("Eva Coordinator")
    await page.get_by_label(say("Your email")).fill(COORDINATOR)
    await (
        page.get_by_role("group", name=say("Role"))
        .get_by_label(say("Coordinator: reviews initiatives and forms working groups"))
        .check()
    )
    await page.get_by_role("button", name=say("Sign in")).click()
    await page.wait_for_url(f"{platform.web}/staff")
    assert await page.get_by_role("button", name=say("Sign out")).is_visible()
    return Coordinator(context, page)


async def the_coordinator_finds_it_in_the_inbox_takes_the_lead_and_accepts(
    platform: Platform, coordinator: Coordinator, reference: str
) -> None:
    """The inbox lists it, new and without a lead; on its page she makes herself its lead and accepts it;
    matching's proposal appears on the page within a second or two."""
    page = coordinator.page
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=reference))
    assert await row.count() == 1
    assert TITLE in await row.inner_text()
    assert say("Nobody yet") in await row.inner_text()
    await assert_accessible(page)
    await screenshot(page, "inbox")

    await row.get_by_role("link", name=reference).click()
    await page.wait_for_url(f"{platform.web}/staff/initiatives/*")
    assert await page.get_by_role("heading", level=1).inner_text() == TITLE
    await press(page, "Assign myself")
    assert await page.get_by_text(say("%(name)s follows this initiative.") % {"name": COORDINATOR}).is_visible()
    await press(page, "Accept the initiative")
    assert await page.get_by_role("status").is_visible()  # what was done, said on the page it led back to

    async def proposal_shown() -> bool:
        await page.reload()
        return await page.get_by_role("link", name=say("Open the working group")).count() == 1

    await eventually(proposal_shown, timeout=WAIT, interval=0.5)
    await assert_accessible(page)
    await screenshot(page, "initiative")
    assert_no_browser_errors(page)


async def the_coordinator_sees_the_proposal_with_reasons_swaps_one_member_and_confirms(
    platform: Platform, coordinator: Coordinator, ids: dict[str, str]
) -> str:
    """Berit (the only recruiter) and Maria (the municipality's mentor) are proposed with why; the third
    seat is Dana's or Erik's, and she swaps it for matching's best suggestion, the other of the two, then
    confirms: the invitations go out and the page follows each seat's answer. The swapped-in email."""
    page = coordinator.page
    await page.get_by_role("link", name=say("Open the working group")).click()
    await page.wait_for_url(f"{platform.web}/staff/groups/*")
    members = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name=say("Why they were chosen")))
    rows = members.get_by_role("row").filter(has=page.get_by_role("rowheader"))
    names = await rows.get_by_role("rowheader").all_inner_texts()
    assert len(names) == 3 and {"Berit Bengtsson", "Maria Lind"} < set(names)
    maria = rows.filter(has=page.get_by_role("rowheader", name="Maria Lind"))
    assert say("Represents the municipality.") in await maria.inner_text()
    berit = rows.filter(has=page.get_by_role("rowheader", name="Berit Bengtsson"))
    assert say("Brings: %(competences)s.") % {"competences": "Recruitment"} in await berit.inner_text()
    assert await page.get_by_text(say("Every needed competence is covered.")).is_visible()
    await assert_accessible(page)
    await screenshot(page, "group")

    (third,) = set(names) - {"Berit Bengtsson", "Maria Lind"}
    other = {"Dana Nilsson": "Erik Persson", "Erik Persson": "Dana Nilsson"}[third]
    await page.get_by_role("link", name=say("Swap %(name)s") % {"name": third}).click()
    await page.wait_for_url(f"{platform.web}/staff/groups/*/members/*/swap")
    best = page.get_by_role("radio").first
    assert await best.is_checked()
    assert other in await page.locator("label.candidate").first.inner_text()
    await assert_accessible(page)
    await press(page, "Swap")
    assert await page.get_by_role("status").is_visible()
    assert set(await rows.get_by_role("rowheader").all_inner_texts()) == set(names) - {third} | {other}
    taken_out = page.locator("h2 + ul").filter(has_text=third)  # under "Taken out of the proposal"
    assert await taken_out.count() == 1

    await press(page, "Confirm and send the invitations")
    assert await page.get_by_role("status").is_visible()
    live = page.locator("[aria-live=polite]")
    assert await live.get_by_role("row").filter(has_text=say("Pending: no answer yet")).count() == 3
    assert_no_browser_errors(page)
    return next(p["email"] for p in POOL if p["name"] == other)


async def the_members_are_invited_by_email(platform: Platform, swapped_in: str) -> dict[str, EmailMessage]:
    """Berit, Maria and the swapped-in member each get an invitation, in their language, whose links open
    the web. The invitations by email."""
    invitations = {}
    for member in (p for p in POOL if p["email"] in {BERIT, MARIA, swapped_in}):
        invitation = await platform.mailbox.one(member["email"], INVITATION[member["language"]] + TITLE)
        links = links_in(invitation)
        assert links and all(link.startswith(f"{platform.web}/") for link in links), links
        invitations[member["email"]] = invitation
    return invitations


async def the_members_answer_from_their_emails_links(
    platform: Platform, browser: Browser, invitations: dict[str, EmailMessage]
) -> None:
    """Each opens the accept link in their email: the page says what the group is for and why they were
    chosen, and asks; opening it changes nothing. Each presses yes, in their own language."""
    for email, invitation in invitations.items():
        language = next(p["language"] for p in POOL if p["email"] == email)
        context, page = await window(browser, language)
        await page.goto(link_after(invitation, ACCEPT_LINE[language]))
        assert await page.get_by_role("heading", level=1).inner_text() == TITLE
        assert await page.get_by_role("heading", name=say("Why we chose you", language)).is_visible()
        await assert_accessible(page)
        if email == BERIT:
            await screenshot(page, "invitation")
        await press(page, "Yes, I will join", language)
        assert await page.get_by_role("status").is_visible()
        assert await page.get_by_role("button").filter(has_text=say("Yes, I will join", language)).count() == 0
        assert_no_browser_errors(page)
        await context.close()


async def the_console_shows_the_group_formed(platform: Platform, coordinator: Coordinator, reference: str) -> None:
    """The coordinator's group page, left open since she confirmed, follows the answers by itself (htmx asks
    every few seconds); once all three said yes the group is formed, and so is the initiative in the inbox."""
    page = coordinator.page
    live = page.locator("[aria-live=polite]")
    accepted = live.get_by_role("row").filter(has_text=say("Accepted the invitation"))
    await eventually(lambda: _count_is(accepted, 3), timeout=WAIT, interval=0.5)  # no reload: htmx swapped it in
    await page.reload()
    assert say("Formed: every member accepted") in await page.locator("dl.facts").inner_text()
    await assert_accessible(page)

    await page.get_by_role("link", name=say("Inbox"), exact=True).first.click()
    await page.wait_for_url(f"{platform.web}/staff")

    async def formed_in_the_inbox() -> bool:
        await page.reload()
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=reference))
        return say("Working group formed") in await row.inner_text()

    await eventually(formed_in_the_inbox, timeout=WAIT, interval=0.5)
    assert_no_browser_errors(page)


async def _count_is(locator: Locator, expected: int) -> bool:
    return await locator.count() == expected
