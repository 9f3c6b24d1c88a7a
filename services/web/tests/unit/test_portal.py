"""The portal's forms on fake service APIs: what the person typed reaches intake and resources as the
API's JSON, refusals come back beside their fields in the person's language, nothing is sent twice."""

from __future__ import annotations

import json
from typing import Any

import httpx

from services.web.tests.conftest import FakeServices, csrf_of, idempotency_key_of, unprocessable

RECEIPT = {"id": "0b0e6f0a-7d2c-4a53-9a4e-2d3c1f8e9a10", "reference": "MM-2026-0042", "status": "submitted"}


async def submit_initiative(
    client: httpx.AsyncClient, fields: dict[str, Any], **options: Any
) -> tuple[httpx.Response, str]:
    """The portal's initiative form opened and sent with these fields; the answer and the form's idempotency key."""
    form = await client.get("/initiatives/new")
    key = idempotency_key_of(form)
    data = {"csrf_token": csrf_of(form), "idempotency_key": key, **fields}
    return await client.post("/initiatives/new", data=data, **options), key


async def test_a_submitted_form_reaches_intake_as_the_apis_json_with_its_idempotency_key(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("POST", "/api/v1/initiatives", httpx.Response(201, json=RECEIPT))
    answer, key = await submit_initiative(
        browser_client,
        {
            "title": "Sommarjobb för unga",
            "summary": "Företag erbjuder sommarjobb.",
            "originator.organisation_name": "Acme Bygg AB",
            "originator.organisation_type": "business",
            "originator.organisation_number": "",
            "originator.contact_email": "anna@acme.example",
            "themes": ["employment", "education_and_training"],
            "seeking": "collaboration_partners",
            "group_size.min": "2",
            "group_size.max": "3",
            "consent": "true",
        },
        follow_redirects=True,
    )
    assert answer.status_code == 200 and "MM-2026-0042" in answer.text
    (sent,) = [call for call in fake.calls if call.url.path == "/api/v1/initiatives"]
    assert sent.headers["Idempotency-Key"] == key
    assert json.loads(sent.content) == {
        "title": "Sommarjobb för unga",
        "summary": "Företag erbjuder sommarjobb.",
        "originator": {"organisation_name": "Acme Bygg AB", "organisation_type": "business",
                       "contact_email": "anna@acme.example"},
        "themes": ["employment", "education_and_training"],
        "seeking": ["collaboration_partners"],
        "competences_needed": [],
        "group_size": {"min": 2, "max": 3},
        "consent": True,
    }  # fmt: skip


async def test_a_refusal_is_shown_beside_its_field_in_swedish_with_what_was_typed_kept(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    errors = [
        {"field": "originator.contact_email", "reason": "value is not a valid email address", "type": "value_error"}
    ]
    fake.on("POST", "/api/v1/initiatives", unprocessable(errors, "invalid request"))
    answer, key = await submit_initiative(
        browser_client,
        {
            "title": "Sommarjobb",
            "originator.contact_email": "anna",
        },
    )
    assert answer.status_code == 422
    html = answer.text
    assert 'id="originator-contact_email-error">Kontrollera vad du skrev här.</p>' in html
    assert 'aria-describedby="originator-contact_email-error" aria-invalid="true"' in html
    assert 'value="Sommarjobb"' in html and 'value="anna"' in html
    assert f'name="idempotency_key" value="{key}"' in html  # sending it again cannot make a second initiative


async def test_the_person_chooses_english_and_it_sticks_over_accept_language(browser_client: httpx.AsyncClient) -> None:
    swedish = await browser_client.get("/", headers={"Accept-Language": "sv-SE,sv;q=0.9"})
    assert 'lang="sv"' in swedish.text and "Skicka in ett initiativ" in swedish.text
    english = await browser_client.get("/?lang=en")
    assert 'lang="en"' in english.text and "Submit an initiative" in english.text
    later = await browser_client.get("/initiatives/new", headers={"Accept-Language": "sv"})
    assert 'lang="en"' in later.text


async def test_accept_language_chooses_when_the_person_has_not(browser_client: httpx.AsyncClient) -> None:
    page = await browser_client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,sv;q=0.5"})
    assert 'lang="en"' in page.text
    page = await browser_client.get("/", headers={"Accept-Language": "de-DE"})
    assert 'lang="sv"' in page.text


async def test_a_registration_reaches_resources_and_the_person_is_told_to_confirm(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on(
        "POST", "/api/v1/resources", httpx.Response(202, json={"id": RECEIPT["id"], "status": "pending_confirmation"})
    )
    form = await browser_client.get("/resources/new")
    answer = await browser_client.post(
        "/resources/new",
        data={
            "csrf_token": csrf_of(form),
            "name": "Karl",
            "email": "karl@skanska.example",
            "competences": "recruitment",
            "languages": ["sv", "ar"],
            "capacity": "2",
            "consent": "true",
        },
        follow_redirects=True,
    )
    assert answer.status_code == 200 and "Titta i din e-post" in answer.text
    sent = json.loads(fake.calls[-1].content)
    assert sent["languages"] == ["sv", "ar"] and sent["capacity"] == 2 and sent["competences"] == ["recruitment"]


async def test_a_service_that_does_not_answer_gets_a_clear_page_not_a_500(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("POST", "/api/v1/initiatives", httpx.Response(503))
    form = await browser_client.get("/initiatives/new")
    answer = await browser_client.post("/initiatives/new", data={"csrf_token": csrf_of(form), "title": "x"})
    assert answer.status_code == 503 and "svarar inte just nu" in answer.text


async def test_the_visitors_address_goes_to_the_service_so_its_limit_counts_each_visitor(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("POST", "/api/v1/initiatives", httpx.Response(201, json=RECEIPT))
    form = await browser_client.get("/initiatives/new")
    await browser_client.post(
        "/initiatives/new",
        data={"csrf_token": csrf_of(form), "title": "x", "consent": "true"},
        headers={"X-Forwarded-For": "203.0.113.5"},  # as an ingress in front of the web would say
    )
    (sent,) = [call for call in fake.calls if call.url.path == "/api/v1/initiatives"]
    assert sent.headers["X-Forwarded-For"] == "203.0.113.5"
