"""The public portal: what Meet Malmö is, the submission form, the registration form, the accessibility
statement. A double click or a form sent twice never makes two initiatives: each rendered form
carries its own Idempotency-Key."""

from __future__ import annotations

import uuid

from babel import Locale
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.adapters.rendering import Pages
from services.web.adapters.services import field_errors
from services.web.pages.edges import Errors, PagesDep, ServicesDep, Values, form_page, form_to_json, page_router, typed
from shared.taxonomy import Label

router = page_router()
INITIATIVE_LISTS = ("themes", "seeking", "competences_needed")
RESOURCE_LISTS = ("competences", "themes", "languages")
# The languages most spoken in Malmö's working life after Swedish and English, named by Babel (ISO 639-1).
WORKING_LANGUAGES = tuple(
    Label(
        code=code, sv=str(Locale(code).get_display_name("sv")).capitalize(), en=str(Locale(code).get_display_name("en"))
    )
    for code in ("sv", "en", "ar", "fa", "so", "bs", "pl", "ti", "ku", "es", "de", "fr", "fi")
)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "portal/home.html")


@router.get("/accessibility", response_class=HTMLResponse)
async def accessibility(request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "portal/accessibility.html")


@router.get("/initiatives/new", response_class=HTMLResponse)
async def new_initiative(request: Request, pages: PagesDep) -> HTMLResponse:
    return _initiative_form(request, pages, {"group_size.min": "2", "group_size.max": "5", "language": "sv"}, {})


@router.post("/initiatives/new", response_model=None)
async def submit_initiative(request: Request, pages: PagesDep, services: ServicesDep) -> Response:
    form = await request.form()
    key = str(form.get("idempotency_key") or uuid.uuid4())
    body = form_to_json(form, lists=INITIATIVE_LISTS, numbers=("group_size.min", "group_size.max"))
    body["consent"] = form.get("consent") == "true"
    answer = await services.intake.post("/api/v1/initiatives", json=body, headers={"Idempotency-Key": key})
    if answer.status_code == 422:
        return _initiative_form(request, pages, typed(form), field_errors(answer), key=key, status_code=422)
    if answer.status_code == 429:
        return pages.render(request, "error.html", {"problem": "too_many"}, status_code=429)
    answer.raise_for_status()
    request.session["receipt"] = answer.json()
    return RedirectResponse("/initiatives/received", status_code=303)


@router.get("/initiatives/received", response_class=HTMLResponse)
async def initiative_received(request: Request, pages: PagesDep) -> HTMLResponse:
    receipt = request.session.get("receipt")
    if receipt is None:
        return pages.render(request, "error.html", {"problem": "not_found"}, status_code=404)
    return pages.render(request, "portal/initiative_received.html", {"receipt": receipt})


def _initiative_form(
    request: Request, pages: Pages, values: Values, errors: Errors, *, key: str | None = None, status_code: int = 200
) -> HTMLResponse:
    key = key or str(uuid.uuid4())
    return form_page(
        request, pages, "portal/initiative_form.html", values, errors, status_code=status_code, idempotency_key=key
    )


@router.get("/resources/new", response_class=HTMLResponse)
async def new_resource(request: Request, pages: PagesDep) -> HTMLResponse:
    return _resource_form(request, pages, {"languages": ["sv"], "language": "sv", "capacity": "1"}, {})


@router.post("/resources/new", response_model=None)
async def register_resource(request: Request, pages: PagesDep, services: ServicesDep) -> Response:
    form = await request.form()
    body = form_to_json(form, lists=RESOURCE_LISTS, numbers=("capacity",))
    body["consent"] = form.get("consent") == "true"
    answer = await services.resources.post("/api/v1/resources", json=body)
    if answer.status_code == 422:
        return _resource_form(request, pages, typed(form), field_errors(answer), status_code=422)
    if answer.status_code == 429:
        return pages.render(request, "error.html", {"problem": "too_many"}, status_code=429)
    answer.raise_for_status()
    return RedirectResponse("/resources/registered", status_code=303)


@router.get("/resources/registered", response_class=HTMLResponse)
async def resource_registered(request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "portal/resource_registered.html")


def _resource_form(
    request: Request, pages: Pages, values: Values, errors: Errors, status_code: int = 200
) -> HTMLResponse:
    more = {"working_languages": WORKING_LANGUAGES}
    return form_page(request, pages, "portal/resource_form.html", values, errors, status_code=status_code, **more)
