"""What every page module shares: the router that checks CSRF on POST, the app's parts as dependencies,
turning a form into the JSON a service takes, and a form's page with what was typed and refused."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from services.web.adapters.rendering import Pages
from services.web.adapters.services import Services
from services.web.sessions import CSRF_FIELD, verify_csrf
from services.web.settings import Settings


def page_router() -> APIRouter:
    """A router whose POSTs all need the session's CSRF token."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])


def _pages(request: Request) -> Pages:
    return request.app.state.pages  # type: ignore[no-any-return]


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


PagesDep = Annotated[Pages, Depends(_pages)]
ServicesDep = Annotated[Services, Depends(_services)]
SettingsDep = Annotated[Settings, Depends(_settings)]
NOT_SENT = {CSRF_FIELD, "idempotency_key"}
Values = dict[str, Any]  # what the person typed into a form, by field name
Errors = dict[str, dict[str, str]]  # a service's refusals, by field name


def form_to_json(form: FormData, *, lists: Iterable[str] = (), numbers: Iterable[str] = ()) -> dict[str, Any]:
    """Form fields named like the API's fields, dotted for nesting (`originator.contact_email`), into
    the JSON body: `lists` are checkbox groups, `numbers` are sent as integers when they are; an empty
    optional field is left out (the service's default applies)."""
    lists, numbers = set(lists), set(numbers)
    body: dict[str, Any] = {}
    for name in {*form.keys(), *lists} - NOT_SENT:
        if name in lists:
            value: Any = [v for v in form.getlist(name) if isinstance(v, str)]
        else:
            raw = form.get(name)
            if not isinstance(raw, str) or raw.strip() == "":
                continue
            value = int(raw) if name in numbers and raw.strip().lstrip("-").isdigit() else raw.strip()
        target = body
        *parents, leaf = name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return body


def typed(form: FormData) -> dict[str, Any]:
    """What the person typed, to fill the form in again after a refusal."""
    return {name: form.getlist(name) if len(form.getlist(name)) > 1 else form.get(name) for name in form}


def form_page(
    request: Request,
    pages: Pages,
    template: str,
    values: Values,
    errors: Errors,
    *,
    status_code: int = 200,
    **more: Any,
) -> HTMLResponse:
    """A page with a form: what was typed (values) filled in again, each refusal (errors) beside its field."""
    return pages.render(request, template, {**more, "values": values, "errors": errors}, status_code=status_code)
