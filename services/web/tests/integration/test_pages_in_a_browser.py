"""Every page of the web in a real Chromium, on the real four services, Kafka, PostgreSQL and SMTP.

For each page, in Swedish and in English: axe-core finds no WCAG 2.1 A/AA violation, the browser reports
no script error or Content Security Policy refusal, the security headers are there, and from the
keyboard the skip link is the first Tab stop and leads to the main content. The forms are filled and
sent with the keyboard alone, a refused form shows its summary and each field's error tied to the
field, and every form works with JavaScript turned off. A test fails when a page route is added that
this list does not visit, so "every page" stays true.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from playwright.async_api import Browser, Locator, Page, Response

from services.web import pages
from services.web.adapters.rendering import HERE
from services.web.security import HEADERS, PRIVATE, PRIVATE_PREFIXES
from services.web.tests.browser import (
    assert_accessible,
    assert_no_browser_errors,
    assert_skip_link_leads_to_main,
    new_context,
    tab_to,
    watch_for_errors,
)
from services.web.tests.integration.platform import (
    Platform,
    links_in,
    running_platform,
    web_without_services,
)
from shared.i18n import Catalogs
from shared.testing import new_namespace

pytestmark = pytest.mark.integration

LANGUAGES = {"sv": "sv-SE", "en": "en-GB"}
CATALOGS = Catalogs(HERE / "translations")


# --- what the pages show: a platform with people, initiatives and emails ---------------------------


@dataclass
class Site:
    platform: Platform
    staff_state: dict[str, Any]  # the cookies of a coordinator signed in through the sign-in page
    initiative: dict[str, Any]  # submitted, waiting in the inbox
    links: dict[str, str] = field(default_factory=dict)  # the email links, by what they open

    @property
    def web(self) -> str:
        return self.platform.web


ORIGINATOR = "anna.andersson@acme.example"
INITIATIVE: dict[str, Any] = {
    "title": "Sommarjobb för unga i Rosengård",
    "summary": "Företag i Malmö erbjuder sommarjobb och mentorer till unga i Rosengård, tillsammans med staden.",
    "originator": {
        "organisation_name": "Acme Bygg AB",
        "organisation_type": "business",
        "contact_name": "Anna Andersson",
        "contact_email": ORIGINATOR,
    },
    "themes": ["employment", "competence_provision"],
    "seeking": ["collaboration_partners"],
    "competences_needed": ["recruitment"],
    "group_size": {"min": 2, "max": 3},
    "language": "sv",
    "consent": True,
}
SELF_REGISTERED = {
    "name": "Berit Bengtsson",
    "email": "berit@bengtssons-rekrytering.example",
    "organisation_name": "Bengtssons Rekrytering AB",
    "organisation_type": "business",
    "role_title": "VD",
    "competences": ["recruitment"],
    "themes": ["employment"],
    "languages": ["sv"],
    "consent": True,
}


async def submit(platform: Platform, initiative: dict[str, Any]) -> dict[str, Any]:
    answer = await platform.client.post(
        f"{platform.api['intake']}/api/v1/initiatives", json=initiative, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def sign_in(browser: Browser, web: str) -> dict[str, Any]:
    """Sign in as a coordinator through the local sign-in page; the browser's cookies afterwards."""
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{web}/staff/sign-in")
    await button(page, "Sign in").click()
    await page.wait_for_url(f"{web}/staff")
    state: dict[str, Any] = await context.storage_state()  # type: ignore[assignment]
    await context.close()
    return state


@pytest.fixture(scope="module")
async def site(postgres_server: str, kafka_bootstrap: str, chromium: Browser) -> AsyncIterator[Site]:
    async with running_platform(postgres_server, kafka_bootstrap, new_namespace()) as platform:
        client, api, mailbox = platform.client, platform.api, platform.mailbox
        registered = await client.post(f"{api['resources']}/api/v1/resources", json=SELF_REGISTERED)
        assert registered.status_code == 201, registered.text
        initiative = await submit(platform, INITIATIVE)
        receipt = await mailbox.one(ORIGINATOR, f"Vi har tagit emot ert initiativ {initiative['reference']}")
        confirmation = await mailbox.one(SELF_REGISTERED["email"], "Bekräfta")
        links = {
            "status": links_in(receipt, "/my/initiatives/")[0],
            "confirm": links_in(confirmation, "/confirm")[0],
        }
        yield Site(platform, await sign_in(chromium, platform.web), initiative, links)


# --- the pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """A page as a person reaches it: the route it is, how to get its address, and what it answers."""

    route: str
    where: Callable[[Site], str] | str
    status: int = 200
    staff: bool = False
    before: Callable[[Page, Site], Awaitable[None]] | None = None  # e.g. send a form that leads here

    def url(self, site: Site) -> str:
        path = self.where if isinstance(self.where, str) else self.where(site)
        return path if path.startswith("http") else site.web + path

    @property
    def name(self) -> str:
        return f"{self.route}[{self.status}]"


async def submit_the_initiative_form(page: Page, site: Site) -> None:
    await page.goto(f"{site.web}/initiatives/new")
    await fill_the_initiative_form(page)
    await page.locator("main form button[type=submit]").click()  # in the page's language, whichever it is
    await page.wait_for_url(f"{site.web}/initiatives/received")


VISITS = [
    Visit("/", "/"),
    Visit("/accessibility", "/accessibility"),
    Visit("/initiatives/new", "/initiatives/new"),
    Visit("/initiatives/received", "/initiatives/received", before=submit_the_initiative_form),
    Visit("/initiatives/received", "/initiatives/received", status=404),  # nothing was sent in this session
    Visit("/resources/new", "/resources/new"),
    Visit("/resources/registered", "/resources/registered"),
    Visit("/staff/sign-in", "/staff/sign-in"),
    Visit("/staff/auth/callback", "/staff/auth/callback", status=404),  # only with real OIDC
    Visit("(no such page)", "/no-such-page", status=404),
]
# Not pages: what a browser downloads beside them.
NOT_PAGES = {"/healthz", "/readyz"}


def test_every_page_route_is_visited_by_these_tests() -> None:
    routes = {
        route.path
        for router in pages.ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "GET" in route.methods
    }
    unvisited = routes - {visit.route for visit in VISITS} - NOT_PAGES
    assert unvisited == set(), f"add a Visit to VISITS in {__file__} for each of these pages: {sorted(unvisited)}"


async def open_page(browser: Browser, site: Site, visit: Visit, language: str = "sv") -> tuple[Page, Response]:
    context = await new_context(browser, language=LANGUAGES[language], javascript=True)
    if visit.staff:
        await context.add_cookies(site.staff_state["cookies"])
    page = await context.new_page()
    watch_for_errors(page)
    if visit.before is not None:
        await visit.before(page, site)
    response = await page.goto(visit.url(site))
    assert response is not None
    assert response.status == visit.status, f"{visit.url(site)}: {response.status}"
    return page, response


def assert_security_headers(response: Response, path: str) -> None:
    headers = response.headers  # Playwright gives them lower-cased
    for name, value in HEADERS.items():
        assert headers.get(name.lower()) == value, f"{path}: {name} is {headers.get(name.lower())!r}"
    if path.startswith(PRIVATE_PREFIXES):
        for name, value in PRIVATE.items():
            assert headers.get(name.lower()) == value, f"{path}: {name} is {headers.get(name.lower())!r}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("visit", VISITS, ids=lambda visit: visit.name)
async def test_every_page_is_accessible_in_both_languages_with_the_security_headers(
    chromium: Browser, site: Site, visit: Visit, language: str
) -> None:
    page, response = await open_page(chromium, site, visit, language)
    try:
        assert await page.get_attribute("html", "lang") == language
        assert await page.locator("h1").count() == 1
        assert_security_headers(response, visit.url(site).removeprefix(site.web))
        await assert_accessible(page)
        assert_no_browser_errors(page, status=visit.status)
    finally:
        await page.context.close()


@pytest.mark.parametrize("visit", VISITS, ids=lambda visit: visit.name)
async def test_on_every_page_the_skip_link_is_the_first_tab_stop_and_leads_to_the_main_content(
    chromium: Browser, site: Site, visit: Visit
) -> None:
    page, _ = await open_page(chromium, site, visit)
    try:
        await assert_skip_link_leads_to_main(page)
    finally:
        await page.context.close()


async def test_when_a_service_does_not_answer_the_page_says_so_accessibly(chromium: Browser) -> None:
    with web_without_services() as web:
        context = await new_context(chromium)
        page = await context.new_page()
        watch_for_errors(page)
        await page.goto(f"{web}/initiatives/new")
        await fill_the_initiative_form(page)
        async with page.expect_response(f"{web}/initiatives/new") as sent:
            await button(page, "Send the initiative").click()
        answer = await sent.value
        assert answer.status == 503
        assert await page.locator("h1").inner_text() == say("This part of Meet Malmö is not answering just now")
        assert_security_headers(answer, "/initiatives/new")
        await assert_accessible(page)
        assert_no_browser_errors(page, status=503)
        await context.close()


# --- forms: the keyboard alone, refusals, no JavaScript -------------------------------------------


async def fill_the_initiative_form(page: Page, *, title: str = "Mentorer för nyanlända ingenjörer") -> None:
    """Fill the submission form as a person would (by its fields: their labels are checked by axe)."""
    await page.locator("[name='title']").fill(title)
    await page.locator("[name='summary']").fill("Ingenjörsföretag tar emot nyanlända ingenjörer som mentorer.")
    await page.locator("[name='themes'][value='employment']").check()
    await page.locator("[name='seeking'][value='collaboration_partners']").check()
    await page.locator("[name='originator.organisation_name']").fill("Ingenjörsbyrån Syd AB")
    await page.locator("[name='originator.organisation_type']").select_option("business")
    await page.locator("[name='originator.contact_name']").fill("Sara Ek")
    await page.locator("[name='originator.contact_email']").fill("sara.ek@ingenjorsbyran.example")
    await page.locator("[name='consent']").check()


async def fill_the_registration_form(page: Page) -> None:
    await page.locator("[name='name']").fill("Olle Ström")
    await page.locator("[name='email']").fill("olle@strom-it.example")
    await page.locator("[name='organisation_name']").fill("Ström IT AB")
    await page.locator("[name='organisation_type']").select_option("business")
    await page.locator("[name='role_title']").fill("Utvecklare")
    await page.locator("[name='competences'][value='it_development']").check()
    await page.locator("[name='themes'][value='employment']").check()
    await page.locator("[name='consent']").check()


def button(page: Page, english: str, language: str = "sv") -> Locator:
    """The button that says `english` in the page's language (through the web's own catalog)."""
    return page.get_by_role("button", name=say(english, language), exact=True)


def say(english: str, language: str = "sv") -> str:
    return CATALOGS.gettext(language, english)


async def test_the_initiative_form_is_filled_and_sent_with_the_keyboard_alone(chromium: Browser, site: Site) -> None:
    context = await new_context(chromium)
    page = await context.new_page()
    watch_for_errors(page)
    await page.goto(f"{site.web}/initiatives/new")
    keyboard = page.keyboard
    await tab_to(page, name="title")
    await keyboard.type("Praktikplatser för gymnasieelever")
    await tab_to(page, name="summary")
    await keyboard.type("Företag i Hyllie tar emot gymnasieelever på praktik.")
    await tab_to(page, name="themes", value="employment")
    await keyboard.press("Space")
    await tab_to(page, name="seeking", value="collaboration_partners")
    await keyboard.press("Space")
    await tab_to(page, name="originator.organisation_name")
    await keyboard.type("Hyllie Handel AB")
    await tab_to(page, name="originator.organisation_type")
    await keyboard.type("N")  # a select jumps to the option that starts with the letter typed: Näringsliv
    assert await page.locator("select[name='originator.organisation_type']").input_value() == "business"
    await tab_to(page, name="originator.contact_name")
    await keyboard.type("Lina Holm")
    await tab_to(page, name="originator.contact_email")
    await keyboard.type("lina.holm@hyllie-handel.example")
    await tab_to(page, name="consent")
    await keyboard.press("Space")
    await tab_to(page, text=say("Send the initiative"))
    await keyboard.press("Enter")
    await page.wait_for_url(f"{site.web}/initiatives/received")
    reference = await page.locator(".reference").inner_text()
    assert reference.startswith("MM-")
    assert_no_browser_errors(page)
    await context.close()


async def test_a_refused_form_shows_a_summary_and_each_fields_error_tied_to_its_field(
    chromium: Browser, site: Site
) -> None:
    context = await new_context(chromium, language=LANGUAGES["en"])
    page = await context.new_page()
    watch_for_errors(page)
    await page.goto(f"{site.web}/initiatives/new")
    await page.get_by_label("Title").fill("Summer jobs")
    await page.get_by_label("Your email").fill("anna-at-acme")
    async with page.expect_response(f"{site.web}/initiatives/new") as sent:
        await button(page, "Send the initiative", "en").click()
    assert (await sent.value).status == 422

    summary = page.get_by_role("alert")
    assert await summary.get_by_role("heading").inner_text() == "Please check the form"
    listed = await summary.get_by_role("link").all()
    assert len(listed) >= 5  # summary, themes, seeking, organisation, type, name, email, consent ...
    for link in listed:  # each names a field and leads to it; the field says what is wrong, tied to it
        target = str(await link.get_attribute("href")).removeprefix("#")
        error = page.locator(f"[id='{target}-error']")
        assert await error.is_visible(), target
        tied = page.locator(f"[aria-describedby~='{target}-error']")
        assert await tied.count() >= 1, f"nothing is described by {target}-error"
    email = page.get_by_label("Your email")
    assert await email.input_value() == "anna-at-acme"  # what was typed is kept
    assert await email.get_attribute("aria-invalid") == "true"
    assert await page.get_by_label("Title").input_value() == "Summer jobs"
    await assert_accessible(page)
    assert_no_browser_errors(page, status=422)
    await context.close()


async def test_every_form_works_without_javascript(page_without_js: Page, site: Site) -> None:
    page = page_without_js
    await page.goto(f"{site.web}/initiatives/new")
    assert await page.evaluate("typeof htmx") == "undefined"  # the page's own scripts do not run
    await fill_the_initiative_form(page, title="Läxhjälp i Lindängen")
    await button(page, "Send the initiative").click()
    await page.wait_for_url(f"{site.web}/initiatives/received")
    assert (await page.locator(".reference").inner_text()).startswith("MM-")

    await page.goto(f"{site.web}/resources/new")
    await fill_the_registration_form(page)
    await button(page, "Register").click()
    await page.wait_for_url(f"{site.web}/resources/registered")

    await page.goto(f"{site.web}/staff/sign-in")
    await button(page, "Sign in").click()
    await page.wait_for_url(f"{site.web}/staff")
    assert await button(page, "Sign out").is_visible()
