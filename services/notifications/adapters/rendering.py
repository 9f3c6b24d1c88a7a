"""Emails from Jinja2 templates: templates/<name>.txt (subject block + text) and <name>.html, one of
each per email, every word through the gettext catalog (translations/, Swedish first; shared.i18n).

Each language has its own environment with its catalog installed in Jinja2's i18n extension, so a
template renders in the recipient's language; a language without a catalog gets Swedish. HTML is
autoescaped, text is not. Dates are shown in Malmö's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_time
from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from markupsafe import Markup

from services.notifications.domain import MALMO_TIME, Rendered
from shared.i18n import DEFAULT_LOCALE, N_, Catalogs
from shared.taxonomy import (
    COMPETENCES_SV_EN,
    LANGUAGES_SV_EN,
    ORGANISATION_TYPES_SV_EN,
    SEEKING_SV_EN,
    THEMES_SV_EN,
)

SERVICE = Path(__file__).resolve().parent.parent
TEMPLATES = SERVICE / "adapters" / "templates"
TRANSLATIONS = SERVICE / "translations"
_BODY_START, _BODY_END = "<!--body-->", "<!--/body-->"  # around the body block in _layout.html


# The roles a group member has (shared.contracts.groups.GroupMember.role)
ROLES = {
    "originator_contact": N_("originator"),
    "municipality_representative": N_("municipality representative"),
    "resource": N_("resource"),
}
_TAXONOMY: dict[str, tuple[str, str]] = {
    str(code): pair
    for names in (THEMES_SV_EN, SEEKING_SV_EN, COMPETENCES_SV_EN, ORGANISATION_TYPES_SV_EN, LANGUAGES_SV_EN)
    for code, pair in names.items()
}


def label(locale: str, translations: NullTranslations, code: object) -> str:
    """The taxonomy label (or role) of a code in the email's language; the code itself if unknown."""
    if (pair := _TAXONOMY.get(str(code))) is not None:
        return pair[1] if locale == "en" else pair[0]
    if (role := ROLES.get(str(code))) is not None:
        return translations.gettext(role)
    return str(code).replace("_", " ")


def when(locale: str, translations: NullTranslations, moment: datetime) -> str:
    """A moment as Malmö reads it: "29 november 2026 kl. 14:00", "29 November 2026, 14:00"."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(MALMO_TIME)
    day, time = format_date(local, "d MMMM y", locale=locale), format_time(local, "HH:mm", locale=locale)
    return translations.gettext("%(date)s, %(time)s") % {"date": day, "time": time}


# Set off a name inside a translated sentence: bold in HTML; in the text as it is, or in quotes (a title).
@pass_eval_context
def strong(eval_ctx: EvalContext, value: object) -> str:
    return Markup("<strong>%s</strong>") % value if eval_ctx.autoescape else str(value)


@pass_eval_context
def quoted(eval_ctx: EvalContext, value: object) -> str:
    return Markup("<strong>%s</strong>") % value if eval_ctx.autoescape else f'"{value}"'


@pass_eval_context
def em(eval_ctx: EvalContext, value: object) -> str:
    return Markup("<em>%s</em>") % value if eval_ctx.autoescape else str(value)


class Renderer:
    def __init__(self, directory: Path = TEMPLATES, catalogs: Catalogs | None = None) -> None:
        catalogs = catalogs or Catalogs(TRANSLATIONS)
        self._envs = {locale: _environment(directory, locale, catalogs.get(locale)) for locale in catalogs.locales}

    def render(self, template: str, language: str, context: Mapping[str, Any]) -> Rendered:
        env, variables = self._prepare(language, context)
        subject = self._subject(env, template, variables)
        text = env.get_template(f"{template}.txt").render(variables).strip() + "\n"
        html = env.get_template(f"{template}.html").render({**variables, "subject": subject})
        return Rendered(subject=subject, text=text, html=html)

    def render_body(self, template: str, language: str, context: Mapping[str, Any]) -> Rendered:
        """Subject and the body block alone (no layout): an alert as one part of a digest."""
        env, variables = self._prepare(language, context)
        subject = self._subject(env, template, variables)
        text_template = env.get_template(f"{template}.txt")
        text = "".join(text_template.blocks["body"](text_template.new_context(variables))).strip() + "\n"
        # The HTML body block may use the template's imported macros, so it is cut from the whole page.
        page = env.get_template(f"{template}.html").render({**variables, "subject": subject})
        html = page.partition(_BODY_START)[2].partition(_BODY_END)[0].strip() + "\n"
        return Rendered(subject=subject, text=text, html=html)

    def _prepare(self, language: str, context: Mapping[str, Any]) -> tuple[Environment, dict[str, Any]]:
        lang = language if language in self._envs else DEFAULT_LOCALE
        return self._envs[lang], {**context, "lang": lang}

    @staticmethod
    def _subject(env: Environment, template: str, variables: Mapping[str, Any]) -> str:
        text_template = env.get_template(f"{template}.txt")
        subject_parts = text_template.blocks["subject"](text_template.new_context(dict(variables)))
        # One line, whatever the title held: a header cannot carry line breaks.
        return " ".join("".join(subject_parts).split())


def _newstyle_gettext(translations: NullTranslations) -> Any:
    """What the i18n extension's newstyle `_()` does (the translation, escaped where autoescaping, always formatted
    with its variables) without its three nested context calls per word: a fifth of the time a render takes."""

    @pass_eval_context
    def gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
        translated = translations.gettext(string)
        # Our catalog's text, trusted as the extension trusts it; the variables are escaped by Markup's `%`.
        return (Markup(translated) if eval_ctx.autoescape else translated) % variables  # noqa: S704

    return gettext


def _environment(directory: Path, locale: str, translations: NullTranslations) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        auto_reload=False,  # the templates are code, deployed with it: no stat of each file per render
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(_=_newstyle_gettext(translations), gettext=_newstyle_gettext(translations))
    env.filters.update(
        label=partial(label, locale, translations),
        when=partial(when, locale, translations),
        strong=strong,
        quoted=quoted,
        em=em,
    )
    return env
