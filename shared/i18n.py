"""One translation mechanism for every word a person reads (pages and emails): gettext catalogs
read with Babel, Swedish first. Each service that speaks to people keeps its own catalog
(`translations/<locale>/LC_MESSAGES/messages.po`); message ids are the English text."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES: tuple[str, ...] = ("sv", "en")
DEFAULT_LOCALE = "sv"


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for the catalog, translate when shown"
    """Mark `message` for the catalog (`pybabel extract -k N_`); it is translated where it is shown."""
    return message


class Catalogs:
    """The compiled catalogs of one service, loaded once from its .po files (nothing generated to ship)."""

    def __init__(self, directory: Path, locales: Sequence[str] = LOCALES, domain: str = "messages") -> None:
        self.locales = tuple(locales)
        self._translations: dict[str, NullTranslations] = {}
        for locale in self.locales:
            po = directory / locale / "LC_MESSAGES" / f"{domain}.po"
            if not po.exists():
                self._translations[locale] = NullTranslations()
                continue
            with po.open("rb") as source:
                catalog = read_po(source, locale=locale, domain=domain)
            compiled = io.BytesIO()
            write_mo(compiled, catalog)
            compiled.seek(0)
            self._translations[locale] = Translations(compiled, domain=domain)

    def get(self, locale: str) -> NullTranslations:
        return self._translations.get(locale) or self._translations[DEFAULT_LOCALE]

    def gettext(self, locale: str, message: str) -> str:
        return self.get(locale).gettext(message)

    def negotiate(self, accept_language: str | None, chosen: str | None = None) -> str:
        """The person's choice if they made one, else the best match of Accept-Language, else Swedish."""
        if chosen in self.locales:
            assert chosen is not None
            return chosen
        match = Locale.negotiate(_preferences(accept_language or ""), self.locales, sep="-")
        return str(match) if match else DEFAULT_LOCALE


def _preferences(header: str) -> list[str]:
    """Accept-Language's tags, best first (`sv-SE,sv;q=0.9,en;q=0.8` -> ['sv-SE', 'sv', 'en'])."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, quality = part.strip().partition(";q=")
        if not tag or tag == "*":
            continue
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        weighted.append((-weight, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def language_name(locale: str, in_locale: str) -> str:
    try:
        return str(Locale.parse(locale).get_display_name(in_locale))
    except (UnknownLocaleError, ValueError):
        return locale


def missing_translations(catalog_file: Path) -> list[str]:
    """Message ids without a translation in a .po file (a test keeps the Swedish catalog complete)."""
    with catalog_file.open("rb") as source:
        catalog = read_po(source)
    # A plural entry's string is a tuple of forms: every form must be filled.
    return [str(m.id) for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
