"""Emails from Jinja2 templates: templates/<lang>/<name>.txt (subject block + text) and .html.

HTML is autoescaped, text is not. A language without the template falls back to Swedish. Dates
are shown in Malmö's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, pass_context, select_autoescape
from jinja2.runtime import Context

from services.notifications.domain import MALMO_TIME, Rendered
from shared.taxonomy import (
    COMPETENCES_SV_EN,
    LANGUAGES_SV_EN,
    ORGANISATION_TYPES_SV_EN,
    SEEKING_SV_EN,
    THEMES_SV_EN,
    Language,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
FALLBACK_LANGUAGE = Language.SV
_BODY_START, _BODY_END = "<!--body-->", "<!--/body-->"  # around the body block in _layout.html

# The roles a group member has (shared.contracts.groups.GroupMember.role)
_ROLES_SV_EN = {
    "originator_contact": ("initiativtagare", "originator"),
    "municipality_representative": ("kommunens representant", "municipality representative"),
    "resource": ("resurs", "resource"),
}
_LABELS: dict[str, tuple[str, str]] = {
    str(code): pair
    for names in (
        THEMES_SV_EN,
        SEEKING_SV_EN,
        COMPETENCES_SV_EN,
        ORGANISATION_TYPES_SV_EN,
        LANGUAGES_SV_EN,
        _ROLES_SV_EN,
    )
    for code, pair in names.items()
}
_MONTHS = {
    "sv": "januari februari mars april maj juni juli augusti september oktober november december".split(),  # noqa: SIM905
    "en": "January February March April May June July August September October November December".split(),  # noqa: SIM905
}


@pass_context
def label(context: Context, code: object) -> str:
    """The taxonomy label of a code in the email's language; the code itself if unknown."""
    pair = _LABELS.get(str(code))
    if pair is None:
        return str(code).replace("_", " ")
    return pair[1] if context["lang"] == "en" else pair[0]


@pass_context
def when(context: Context, moment: datetime) -> str:
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(MALMO_TIME)
    month = _MONTHS["en" if context["lang"] == "en" else "sv"][local.month - 1]
    if context["lang"] == "en":
        return f"{local.day} {month} {local.year}, {local:%H:%M}"
    return f"{local.day} {month} {local.year} kl. {local:%H:%M}"


class Renderer:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["label"] = label
        self._env.filters["when"] = when

    def render(self, template: str, language: str, context: Mapping[str, Any]) -> Rendered:
        lang = language if self._has(language, template) else FALLBACK_LANGUAGE.value
        variables = {**context, "lang": lang}
        text_template = self._env.get_template(f"{lang}/{template}.txt")
        subject = self._subject(template, lang, variables)
        text = text_template.render(variables).strip() + "\n"
        html = self._env.get_template(f"{lang}/{template}.html").render({**variables, "subject": subject})
        return Rendered(subject=subject, text=text, html=html)

    def render_body(self, template: str, language: str, context: Mapping[str, Any]) -> Rendered:
        """Subject and the body block alone (no layout): an alert as one part of a digest."""
        lang = language if self._has(language, template) else FALLBACK_LANGUAGE.value
        variables = {**context, "lang": lang}
        subject = self._subject(template, lang, variables)
        text_template = self._env.get_template(f"{lang}/{template}.txt")
        text = "".join(text_template.blocks["body"](text_template.new_context(variables))).strip() + "\n"
        # The HTML body block may use the template's imported macros, so it is cut from the whole page.
        page = self._env.get_template(f"{lang}/{template}.html").render({**variables, "subject": subject})
        html = page.partition(_BODY_START)[2].partition(_BODY_END)[0].strip() + "\n"
        return Rendered(subject=subject, text=text, html=html)

    def _subject(self, template: str, lang: str, variables: Mapping[str, Any]) -> str:
        text_template = self._env.get_template(f"{lang}/{template}.txt")
        subject_parts = text_template.blocks["subject"](text_template.new_context(dict(variables)))
        # One line, whatever the title held: a header cannot carry line breaks.
        return " ".join("".join(subject_parts).split())

    def _has(self, language: str, template: str) -> bool:
        try:
            self._env.get_template(f"{language}/{template}.txt")
        except TemplateNotFound:
            return False
        return True
