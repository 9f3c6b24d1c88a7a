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
    COORDINATOR,
    SECRET,
    WAIT,
    Platform,
    link_after,
    links_in,
    running_platform,
    web_without_services,
)
from shared.i18n import Catalogs
from shared.links import PrivateLink
from shared.testing import eventually, new_namespace, query_value

pytestmark = pytest.mark.integration

LANGUAGES = {"sv": "sv-SE", "en": "en-GB"}
CATALOGS = Catalogs(HERE / "translations")


# --- what the pages show: a platform with people, initiatives and emails ---------------------------


@dataclass
class Site:
    """What the pages show: people in the pool, an initiative waiting in the inbox, one whose working group
    is proposed and one whose group is confirmed (its invitations sent), and the links in the emails."""

    platform: Platform
    signed_in: dict[str, list[dict[str, Any]]]  # role -> the cookies after signing in through the sign-in page
    ids: dict[str, str] = field(default_factory=dict)  # initiatives ("waiting", ...), groups, people, by name
    links: dict[str, str] = field(default_factory=dict)  # the email links, by what they open

    @property
    def web(self) -> str:
        return self.platform.web


ORIGINATOR = "anna.andersson@acme.example"


def initiative(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "summary": "Företag i Malmö erbjuder sommarjobb och mentorer till unga, tillsammans med staden.",
        "originator": {
            "organisation_name": "Acme Bygg AB",
            "organisation_type": "business",
            "contact_name": "Anna Andersson",
            "contact_email": ORIGINATOR,
        },
        "themes": ["employment", "competence_provision"],
        "seeking": ["collaboration_partners"],
        "competences_needed": ["mentoring"],
        "group_size": {"min": 2, "max": 2},
        "language": "sv",
        "consent": True,
    }


def person(name: str, email: str, organisation: str, kind: str, competences: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "email": email,
        "organisation_name": organisation,
        "organisation_type": kind,
        "role_title": "Specialist",
        "competences": competences,
        "themes": ["employment", "competence_provision"],
        "languages": ["sv"],
        "capacity": 3,
    }


# Every group needs Maria (the municipality's representative, and the only mentor); the other seat goes
# to Dana or Erik. Berit registers herself and has not confirmed yet.
POOL = {
    "maria": person("Maria Lind", "maria.lind@malmo.se", "Malmö stad", "municipality", ["mentoring"]),
    "dana": person("Dana Nilsson", "dana@handelskammaren.example", "Sydsvenska Handelskammaren",
                   "industry_organisation", ["network_building"]),
    "erik": person("Erik Persson", "erik@oresund-logistik.example", "Öresund Logistik AB", "business", ["logistics"]),
}  # fmt: skip
SELF_REGISTERED = {
    **person("Berit Bengtsson", "berit@bengtssons-rekrytering.example", "Bengtssons Rekrytering AB", "business",
             ["recruitment"]),
    "consent": True,
}  # fmt: skip


async def submit(platform: Platform, body: dict[str, Any]) -> dict[str, Any]:
    answer = await platform.client.post(
        f"{platform.api['intake']}/api/v1/initiatives", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def accept_and_wait_for_the_proposal(platform: Platform, initiative_id: str) -> dict[str, Any]:
    client, api = platform.client, platform.api
    accepted = await client.post(f"{api['intake']}/api/v1/initiatives/{initiative_id}/accept", headers=platform.staff())
    assert accepted.status_code == 200, accepted.text

    async def proposed() -> list[dict[str, Any]]:
        found = await client.get(
            f"{api['matching']}/api/v1/groups", params={"initiative_id": initiative_id}, headers=platform.staff()
        )
        return found.json()["items"]  # type: ignore[no-any-return]

    (group,) = await eventually(proposed, timeout=WAIT)
    return group  # type: ignore[no-any-return]


async def a_digests_unsubscribe_link(platform: Platform) -> str:
    """The coordinator chooses the daily digest; the link at the foot of the digest (signed as notifications
    signs it, for her preference) opens the web's unsubscribe page. The digest itself goes out at 07:00."""
    chosen = await platform.client.put(
        f"{platform.api['notifications']}/api/v1/preferences/me",
        json={"alert_mode": "daily_digest"},
        headers=platform.staff(),
    )
    assert chosen.status_code == 200, chosen.text
    preference = await query_value(
        platform.databases["notifications"], "SELECT id FROM coordinator_preferences WHERE email = :email",
        email=COORDINATOR,
    )  # fmt: skip
    return PrivateLink(platform.web, SECRET, purpose="digest-unsubscribe", path="unsubscribe").url(preference)


async def sign_in(browser: Browser, web: str, role: str) -> list[dict[str, Any]]:
    """Sign in through the local sign-in page with `role`; the browser's cookies afterwards."""
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{web}/staff/sign-in")
    await page.locator(f"[name='role'][value='{role}']").check()
    await button(page, "Sign in").click()
    await page.wait_for_url(f"{web}/staff")
    cookies: list[dict[str, Any]] = await context.cookies()  # type: ignore[assignment]
    await context.close()
    return cookies


@pytest.fixture(scope="module")
async def site(postgres_server: str, kafka_bootstrap: str, chromium: Browser) -> AsyncIterator[Site]:
    async with running_platform(postgres_server, kafka_bootstrap, new_namespace()) as platform:
        client, api, mailbox = platform.client, platform.api, platform.mailbox
        ids: dict[str, str] = {}
        for key, profile in POOL.items():
            answer = await client.post(
                f"{api['resources']}/api/v1/resources/direct", json=profile, headers=platform.staff()
            )
            assert answer.status_code == 201, answer.text
            ids[key] = answer.json()["id"]
        registered = await client.post(f"{api['resources']}/api/v1/resources", json=SELF_REGISTERED)
        assert registered.status_code == 201, registered.text

        async def matching_knows_the_pool() -> bool:
            count = await query_value(platform.databases["matching"], "SELECT count(*) FROM resources")
            return bool(count == len(POOL))

        await eventually(matching_knows_the_pool, timeout=WAIT)
        references = {}
        for key in ("waiting", "asked", "proposed", "confirmed"):
            submitted = await submit(platform, initiative(f"Sommarjobb för unga ({key})"))
            ids[key], references[key] = submitted["id"], submitted["reference"]
        asked = await client.post(
            f"{api['intake']}/api/v1/initiatives/{ids['asked']}/request-info",
            json={"message": "Hur många ungdomar kan ni ta emot?"},
            headers=platform.staff(),
        )
        assert asked.status_code == 200, asked.text
        ids["proposed group"] = (await accept_and_wait_for_the_proposal(platform, ids["proposed"]))["id"]
        group = await accept_and_wait_for_the_proposal(platform, ids["confirmed"])
        ids["confirmed group"] = group["id"]
        confirm = f"{api['matching']}/api/v1/groups/{group['id']}/confirm"
        confirmed = await client.post(confirm, headers=platform.staff())
        assert confirmed.status_code == 200, confirmed.text

        receipt = await mailbox.one(ORIGINATOR, f"Vi har tagit emot ert initiativ {references['waiting']}")
        question = await mailbox.one(ORIGINATOR, f"Vi behöver mer information om ert initiativ {references['asked']}")
        confirmation = await mailbox.one(str(SELF_REGISTERED["email"]), "Bekräfta")
        invitation = await mailbox.one(str(POOL["maria"]["email"]), "Inbjudan till arbetsgrupp")
        welcome = await mailbox.one(str(POOL["maria"]["email"]), "Välkommen")
        links = {
            "status": links_in(receipt, "/my/initiatives/")[0],
            "confirm": links_in(confirmation, "/confirm/")[0],
            "profile": links_in(welcome, "/my/profile/")[0],
            "accept": link_after(invitation, "Tacka ja:"),
            "decline": link_after(invitation, "Tacka nej:"),
            "question": links_in(question, "/my/initiatives/")[0],
            "unsubscribe": await a_digests_unsubscribe_link(platform),
        }
        signed_in = {role: await sign_in(chromium, platform.web, role) for role in ("coordinator", "operator")}
        yield Site(platform, signed_in, ids, links)


# --- the pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """A page as a person reaches it: the route it is, how to get its address, and what it answers."""

    route: str
    where: Callable[[Site], str] | str
    status: int = 200
    staff: str | None = None  # "coordinator" or "operator": signed in as that
    before: Callable[[Page, Site], Awaitable[None]] | None = None  # e.g. send a form that leads here
    note: str = ""

    def url(self, site: Site) -> str:
        path = self.where if isinstance(self.where, str) else self.where(site)
        return path if path.startswith("http") else site.web + path

    @property
    def name(self) -> str:
        return f"{self.route}[{','.join(str(part) for part in (self.status, self.staff, self.note) if part)}]"


async def submit_the_initiative_form(page: Page, site: Site) -> None:
    await page.goto(f"{site.web}/initiatives/new")
    await fill_the_initiative_form(page)
    await page.locator("main form button[type=submit]").click()  # in the page's language, whichever it is
    await page.wait_for_url(f"{site.web}/initiatives/received")


def initiative_page(key: str) -> Callable[[Site], str]:
    return lambda site: f"/staff/initiatives/{site.ids[key]}"


def group_page(key: str) -> Callable[[Site], str]:
    return lambda site: f"/staff/groups/{site.ids[key + ' group']}"


COORDINATOR_ROLE, OPERATOR_ROLE = "coordinator", "operator"
VISITS = [
    # the portal
    Visit("/", "/"),
    Visit("/accessibility", "/accessibility"),
    Visit("/initiatives/new", "/initiatives/new"),
    Visit("/initiatives/received", "/initiatives/received", before=submit_the_initiative_form),
    Visit("/initiatives/received", "/initiatives/received", status=404, note="nothing sent"),
    Visit("/resources/new", "/resources/new"),
    Visit("/resources/registered", "/resources/registered"),
    Visit("(no such page)", "/no-such-page", status=404),
    # signing in
    Visit("/staff/sign-in", "/staff/sign-in"),
    Visit("/staff/sign-in", "/staff", note="the console asks to sign in first"),
    Visit("/staff/auth/callback", "/staff/auth/callback", status=404, note="only with real OIDC"),
    # the console
    Visit("/staff", "/staff", staff=COORDINATOR_ROLE),
    Visit("/staff", "/staff?status=accepted&sort=reference&q=Sommarjobb", staff=COORDINATOR_ROLE, note="filtered"),
    Visit("/staff", "/staff", staff=OPERATOR_ROLE),
    Visit("/staff/initiatives/new", "/staff/initiatives/new", staff=COORDINATOR_ROLE),
    Visit("/staff/initiatives/new", "/staff/initiatives/new", staff=OPERATOR_ROLE, status=403),
    Visit("/staff/initiatives/{initiative_id}", initiative_page("waiting"), staff=COORDINATOR_ROLE, note="waiting"),
    Visit("/staff/initiatives/{initiative_id}", initiative_page("proposed"), staff=COORDINATOR_ROLE, note="proposed"),
    Visit("/staff/initiatives/{initiative_id}", initiative_page("waiting"), staff=OPERATOR_ROLE),
    Visit("/staff/initiatives/{initiative_id}", f"/staff/initiatives/{uuid.UUID(int=1)}", staff=COORDINATOR_ROLE,
          status=404),
    Visit("/staff/groups/{group_id}", group_page("proposed"), staff=COORDINATOR_ROLE, note="proposed"),
    Visit("/staff/groups/{group_id}", group_page("confirmed"), staff=COORDINATOR_ROLE, note="confirmed"),
    Visit("/staff/groups/{group_id}", group_page("confirmed"), staff=OPERATOR_ROLE, note="read-only"),
    Visit("/staff/groups/{group_id}/members/{resource_id}/swap",
          lambda site: f"/staff/groups/{site.ids['proposed group']}/members/{site.ids['maria']}/swap",
          staff=COORDINATOR_ROLE),
    Visit("/staff/resources", "/staff/resources", staff=COORDINATOR_ROLE),
    Visit("/staff/resources", "/staff/resources?q=Malm%C3%B6", staff=OPERATOR_ROLE, note="searched"),
    Visit("/staff/resources/new", "/staff/resources/new", staff=COORDINATOR_ROLE),
    Visit("/staff/resources/{resource_id}", lambda site: f"/staff/resources/{site.ids['maria']}",
          staff=COORDINATOR_ROLE),
    Visit("/staff/emails", "/staff/emails", staff=COORDINATOR_ROLE),
    Visit("/staff/emails", "/staff/emails", staff=OPERATOR_ROLE),
    Visit("/staff/preferences", "/staff/preferences", staff=COORDINATOR_ROLE),
    Visit("/staff/status", "/staff/status", staff=OPERATOR_ROLE),
    Visit("/staff/status", "/staff/status", staff=COORDINATOR_ROLE),
    # behind the links in the emails
    Visit("/my/initiatives/{token}", lambda site: site.links["status"], note="submitted"),
    Visit("/my/initiatives/{token}", lambda site: site.links["question"], note="asked a question"),
    Visit("/my/initiatives/{token}", "/my/initiatives/not-a-real-token", status=404),
    Visit("/my/initiatives/{token}/withdraw", lambda site: site.links["status"] + "/withdraw"),
    Visit("/confirm/{token}", lambda site: site.links["confirm"]),
    Visit("/confirm/{token}", "/confirm/not-a-real-token", status=404),
    Visit("/my/profile/{token}", lambda site: site.links["profile"]),
    Visit("/my/profile/{token}/erase", lambda site: site.links["profile"] + "/erase"),
    Visit("/my/erased", "/my/erased"),
    Visit("/my/new-profile-link", "/my/new-profile-link"),
    Visit("/my/new-status-link", "/my/new-status-link"),
    Visit("/invitations/{token}", lambda site: site.links["accept"], note="accept"),
    Visit("/invitations/{token}", lambda site: site.links["decline"], note="decline"),
    Visit("/invitations/{token}", "/invitations/not-a-real-token", status=404),
    Visit("/unsubscribe/{token}", lambda site: site.links["unsubscribe"]),
]  # fmt: skip
# What the browser fetches that is not a page of its own: downloads, and a fragment htmx puts into a page.
NOT_PAGES = {
    "/healthz",
    "/readyz",
    "/staff/initiatives/export.csv",
    "/staff/resources/export.csv",
    "/staff/groups/{group_id}/invitations",
    "/my/profile/{token}/export",
}


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
        await context.add_cookies(site.signed_in[visit.staff])  # type: ignore[arg-type]
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
async def test_every_page_is_accessible_in_both_languages_from_the_keyboard_with_the_security_headers(
    chromium: Browser, site: Site, visit: Visit, language: str
) -> None:
    page, response = await open_page(chromium, site, visit, language)
    try:
        assert await page.get_attribute("html", "lang") == language
        assert await page.locator("h1").count() == 1
        assert_security_headers(response, visit.url(site).removeprefix(site.web))
        await assert_accessible(page)
        await assert_skip_link_leads_to_main(page)
        assert_no_browser_errors(page, status=visit.status)
    finally:
        await page.context.close()


async def test_the_status_page_shows_every_service_ready_and_the_figures_of_their_data(
    chromium: Browser, site: Site
) -> None:
    """The operator's status page, in English, against what the services' databases hold right now."""
    databases = site.platform.databases
    context = await new_context(chromium, language=LANGUAGES["en"])
    await context.add_cookies(site.signed_in[OPERATOR_ROLE])  # type: ignore[arg-type]
    page = await context.new_page()
    try:
        await page.goto(f"{site.web}/staff/status")
        assert await page.locator("h1").inner_text() == "Platform status"
        assert await page.get_by_role("status").inner_text() == "Every service is ready."

        async def cell(table: str, row: str, column: int = 0) -> str:
            found = page.locator(f"[aria-labelledby='{table}'] tr", has=page.locator("th", has_text=row))
            return (await found.first.locator("td").nth(column).inner_text()).strip()

        for service in ("intake", "resources", "matching", "notifications"):
            assert await cell("pipeline", service) == "Yes"
            assert await cell("pipeline", service, 4) == "None"  # no background task stopped
        for status, label in (("group_forming", "Working group forming"), ("submitted", "Submitted")):
            held = await query_value(
                databases["intake"], "SELECT count(*) FROM initiatives WHERE status = :s", s=status
            )
            assert await cell("kpi-initiatives", label) == str(held), label
        municipality = await query_value(
            databases["resources"],
            "SELECT count(*) FROM resources WHERE status = 'active' AND organisation_type = 'municipality'",
        )
        assert await cell("kpi-resources", "Municipality") == str(municipality) == "1"
        proposed = await query_value(databases["matching"], "SELECT count(*) FROM groups")
        confirmed = await query_value(
            databases["matching"], "SELECT count(*) FROM groups WHERE confirmed_at IS NOT NULL"
        )
        assert (await cell("kpi-groups", "Proposed"), await cell("kpi-groups", "Confirmed")) == (
            str(proposed), str(confirmed))  # fmt: skip
        shown = int(await cell("emails", "Sent"))
        sent = await query_value(databases["notifications"], "SELECT count(*) FROM deliveries WHERE status = 'sent'")
        assert 0 < shown <= sent  # the sender may have sent one more since the page was read
        assert await cell("emails", "Failed") == "0"
        await assert_accessible(page)
    finally:
        await context.close()


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


async def test_the_forms_work_without_javascript(page_without_js: Page, site: Site) -> None:
    """The portal's two forms, signing in, a console form and the forms behind three email links."""
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
    await page.goto(f"{site.web}/staff/initiatives/{site.ids['waiting']}")
    await page.locator("[name='text']").fill("Ring Anna på måndag om antalet platser.")
    await button(page, "Add the note").click()
    await page.get_by_text("Ring Anna på måndag om antalet platser.").wait_for()

    # behind the links in the emails: the originator answers, Berit confirms, the coordinator stops the digest
    await page.goto(site.links["question"])
    await page.locator("[name='answer']").fill("Vi kan ta emot tolv ungdomar i sommar.")
    await button(page, "Send the answer").click()
    await page.get_by_role("status").wait_for()
    await page.goto(site.links["confirm"])
    await button(page, "Confirm").click()
    await page.wait_for_load_state()
    assert await button(page, "Confirm").count() == 0
    await page.goto(site.links["unsubscribe"])
    await button(page, "Stop the digest").click()
    await page.get_by_role("status").wait_for()
