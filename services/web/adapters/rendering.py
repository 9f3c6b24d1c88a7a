"""Pages from Jinja2 templates (one file per page over a base layout and macros), every word through
the gettext catalog in the person's language: their choice (?lang=, kept in a cookie), then
Accept-Language, then Swedish."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.web.sessions import csrf_token
from shared.i18n import Catalogs
from shared.taxonomy import TAXONOMY

HERE = Path(__file__).resolve().parent.parent
LANGUAGE_COOKIE = "lang"


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for the catalog, translate when shown"
    return message


# What a service's 422 `type` means, said to a person (the service's own reason is English, for developers).
FIELD_ERRORS = {
    "missing": N_("Fill in this field."),
    "string_too_short": N_("Fill in this field."),
    "string_too_long": N_("This is too long."),
    "too_short": N_("Choose at least one."),
    "too_long": N_("Choose fewer."),
    "value_error": N_("Check what you wrote here."),
    "literal_error": N_("Choose one of the options."),
    "enum": N_("Choose one of the options."),
    "int_parsing": N_("Write a whole number."),
    "greater_than_equal": N_("The number is too small."),
    "less_than_equal": N_("The number is too large."),
    "bool_parsing": N_("Tick the box to go on."),
    "string_pattern_mismatch": N_("Check the format."),
}


FALLBACK_ERROR = N_("Check what you wrote here.")
# A field whose refusal has one meaning whatever its type (consent is a box to tick, not "one of the options").
FIELD_SPECIFIC = {"consent": N_("Tick the box to go on.")}


def _field_error(error: Mapping[str, str]) -> str:
    return FIELD_SPECIFIC.get(error.get("field", "")) or FIELD_ERRORS.get(error["type"], FALLBACK_ERROR)


class Pages:
    def __init__(self, catalogs: Catalogs, templates: Path = HERE / "templates") -> None:
        self.catalogs = catalogs
        self.env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=select_autoescape(default=True, default_for_string=True),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def locale(self, request: Request) -> str:
        chosen = request.query_params.get(LANGUAGE_COOKIE) or request.cookies.get(LANGUAGE_COOKIE)
        return self.catalogs.negotiate(request.headers.get("accept-language"), chosen)

    def gettext(self, request: Request, message: str) -> str:
        return self.catalogs.gettext(self.locale(request), message)

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        locale = self.locale(request)
        translations = self.catalogs.get(locale)
        staff = request.session.get("staff")
        html = self.env.get_template(template).render(
            request=request,
            locale=locale,
            other_locale="en" if locale == "sv" else "sv",
            _=translations.gettext,
            gettext=translations.gettext,
            ngettext=translations.ngettext,
            csrf_token=csrf_token(request),
            staff=staff,
            taxonomy=TAXONOMY,
            label=lambda item: getattr(item, locale),
            field_error=lambda error: translations.gettext(_field_error(error)),
            **(context or {}),
        )
        response = HTMLResponse(html, status_code=status_code)
        if LANGUAGE_COOKIE in request.query_params and request.query_params[LANGUAGE_COOKIE] in self.catalogs.locales:
            response.set_cookie(LANGUAGE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
        return response
