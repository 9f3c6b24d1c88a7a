"""The resource registry on a fake resources service: the filters reach its search as its query
parameters with the staff token, the CSV of the same selection passes through, a person's page shows
competences and themes by their labels, and a coordinator registers municipality staff directly."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from services.web.tests.conftest import FakeServices, unprocessable
from services.web.tests.unit.test_console_groups import signed_in

KARIN = "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


def person(**more: Any) -> dict[str, Any]:
    return {
        "id": KARIN, "status": "active", "name": "Karin Lind", "email": "karin.lind@malmo.se", "phone": None,
        "organisation_name": "Malmö stad, arbetsmarknadsförvaltningen", "organisation_type": "municipality",
        "organisation_number": "212000-1124", "role_title": "Arbetsmarknadskonsulent", "sector": "O",
        "competences": ["labour_market", "language_training"], "tags": ["SFI"],
        "themes": ["establishment_of_new_arrivals"], "capacity": 3, "hours_per_month": 10,
        "languages": ["sv", "ar"], "language": "sv", "registered_by": "eva@malmo.se",
        "confirmed_at": "2026-03-01T08:00:00Z", "withdrawal_reason": None,
        "created_at": "2026-03-01T08:00:00Z", "updated_at": "2026-03-01T08:00:00Z", **more,
    }  # fmt: skip


def page_of(items: list[dict[str, Any]], total: int, offset: int = 0) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": 25, "offset": offset}


async def test_the_filters_reach_the_search_as_its_query_parameters_with_the_staff_token(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "/api/v1/resources", httpx.Response(200, json=page_of([person()], 60, 25)))
    await signed_in(browser_client)
    page = await browser_client.get(
        "/staff/resources",
        params=[("competence", "labour_market"), ("competence", "mentoring"), ("theme", ""), ("status", "active"),
                ("organisation_type", "municipality"), ("language", "ar"), ("min_capacity", "2"), ("q", " Lind "),
                ("offset", "25")],
    )  # fmt: skip
    assert page.status_code == 200
    (search,) = [c for c in fake.calls if c.url.path == "/api/v1/resources"]
    assert search.headers["Authorization"].startswith("Bearer ")
    sent = search.url.params
    assert sent.get_list("competence") == ["labour_market", "mentoring"] and "theme" not in sent
    assert (sent["status"], sent["organisation_type"], sent["language"]) == ("active", "municipality", "ar")
    assert (sent["min_capacity"], sent["q"], sent["limit"], sent["offset"]) == ("2", "Lind", "25", "25")
    html = page.text
    assert f'href="/staff/resources/{KARIN}"' in html and "Arbetsmarknadsfrågor, Språkundervisning" in html
    assert "Visar 26–50 av 60" in html and "offset=0" in html and "offset=50" in html
    assert 'value="labour_market" checked' in html and 'value="mentoring" checked' in html
    assert (
        'href="/staff/resources/export.csv?competence=labour_market&amp;competence=mentoring&amp;'
        'organisation_type=municipality&amp;language=ar&amp;status=active&amp;min_capacity=2&amp;q=Lind"' in html
    )


async def test_a_refused_filter_is_shown_beside_it(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    errors = [{"field": "min_capacity", "reason": "Input should be less than or equal to 5", "type": "less_than_equal"}]
    fake.on("GET", "/api/v1/resources", unprocessable(errors, "invalid request"))
    await signed_in(browser_client)
    page = await browser_client.get("/staff/resources?min_capacity=9")
    assert page.status_code == 422 and 'id="min_capacity-error">Talet är för stort.</p>' in page.text


async def test_the_csv_is_resources_own_for_the_same_selection(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    csv = "id,status,name\r\n" + KARIN + ",active,Karin Lind\r\n"
    headers = {"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": 'attachment; filename="resources.csv"',
               "X-Total-Count": "1"}  # fmt: skip
    fake.on("GET", "/api/v1/resources/export.csv", httpx.Response(200, text=csv, headers=headers))
    await signed_in(browser_client, "operator")
    answer = await browser_client.get("/staff/resources/export.csv?theme=employment&q=Lind")
    assert answer.status_code == 200 and answer.text == csv
    assert answer.headers["content-type"].startswith("text/csv")
    assert "resources.csv" in answer.headers["content-disposition"]
    assert answer.headers["x-total-count"] == "1" and answer.headers["cache-control"] == "no-store"
    (call,) = [c for c in fake.calls if c.url.path.endswith("export.csv")]
    assert dict(call.url.params) == {"theme": "employment", "q": "Lind"} and call.headers["Authorization"]


async def test_a_persons_page_shows_the_profile_by_its_labels(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", f"/api/v1/resources/{KARIN}", httpx.Response(200, json=person()))
    await signed_in(browser_client, "operator")
    page = await browser_client.get(f"/staff/resources/{KARIN}")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Karin Lind</h1>" in html and "Arbetsmarknadsfrågor, Språkundervisning" in html
    assert "Etablering av nyanlända" in html and "Svenska, Arabiska" in html and "Kommun" in html
    assert "eva@malmo.se" in html and "1 mars 2026 09:00" in html  # Malmö's clock


async def test_an_unknown_person_is_a_404_page(browser_client: httpx.AsyncClient, fake: FakeServices) -> None:
    fake.on("GET", f"/api/v1/resources/{KARIN}", httpx.Response(404, json={"detail": "not found"}))
    await signed_in(browser_client)
    assert (await browser_client.get(f"/staff/resources/{KARIN}")).status_code == 404


async def test_direct_registration_sends_the_apis_json_and_opens_the_new_persons_page(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("POST", "/api/v1/resources/direct", httpx.Response(201, json=person()))
    csrf = await signed_in(browser_client)
    form = await browser_client.get("/staff/resources/new")
    assert form.status_code == 200 and 'name="organisation_type"' in form.text
    answer = await browser_client.post(
        "/staff/resources/new",
        data={"csrf_token": csrf, "name": "Karin Lind", "email": "karin.lind@malmo.se", "phone": "",
              "organisation_name": "Malmö stad", "organisation_type": "municipality", "organisation_number": "",
              "role_title": "Arbetsmarknadskonsulent", "sector": "O", "competences": ["labour_market", "mentoring"],
              "tags": "SFI, nyanlända ,", "themes": "employment", "capacity": "3", "hours_per_month": "",
              "languages": ["sv", "ar"], "language": "sv"},
    )  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == f"/staff/resources/{KARIN}?done=registered"
    (sent,) = [c for c in fake.calls if c.method == "POST"]
    assert sent.headers["Authorization"].startswith("Bearer ")
    assert json.loads(sent.content) == {
        "name": "Karin Lind", "email": "karin.lind@malmo.se", "organisation_name": "Malmö stad",
        "organisation_type": "municipality", "role_title": "Arbetsmarknadskonsulent", "sector": "O",
        "competences": ["labour_market", "mentoring"], "tags": ["SFI", "nyanlända"], "themes": ["employment"],
        "capacity": 3, "languages": ["sv", "ar"], "language": "sv",
    }  # fmt: skip


async def test_a_refused_registration_is_shown_beside_each_field_and_a_known_email_links_to_its_person(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    errors = [{"field": "competences", "reason": "List should have at least 1 item", "type": "too_short"},
              {"field": "tags.0", "reason": "too long", "type": "string_too_long"}]  # fmt: skip
    fake.on("POST", "/api/v1/resources/direct", unprocessable(errors))
    csrf = await signed_in(browser_client)
    refused = await browser_client.post("/staff/resources/new", data={"csrf_token": csrf, "name": "Karin", "tags": "x"})
    assert refused.status_code == 422
    assert 'id="competences-error">Välj minst ett alternativ.</p>' in refused.text
    assert 'id="tags-error">' in refused.text
    assert 'value="Karin"' in refused.text

    taken = str(uuid.uuid4())
    fake.on("POST", "/api/v1/resources/direct", httpx.Response(409, json={"detail": "taken", "resource_id": taken}))
    again = await browser_client.post("/staff/resources/new", data={"csrf_token": csrf, "email": "karin@malmo.se"})
    assert again.status_code == 409
    assert "Någon är redan registrerad med den här e-postadressen." in again.text
    assert f'href="/staff/resources/{taken}"' in again.text and 'aria-describedby="email-error"' in again.text


async def test_an_operator_reads_the_registry_but_registers_nobody(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "/api/v1/resources", httpx.Response(200, json=page_of([person()], 1)))
    csrf = await signed_in(browser_client, "operator")
    page = await browser_client.get("/staff/resources")
    main = page.text[page.text.index("<main") :]  # the header's sign-out is the only form besides
    assert page.status_code == 200 and "/staff/resources/new" not in main and 'method="post"' not in main
    assert (await browser_client.get("/staff/resources/new")).status_code == 403
    refused = await browser_client.post("/staff/resources/new", data={"csrf_token": csrf, "name": "x"})
    assert refused.status_code == 403 and not [c for c in fake.calls if c.method == "POST"]
