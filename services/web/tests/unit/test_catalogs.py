"""Every word a person reads is in the Swedish catalog (Swedish first), and the catalogs are well formed."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from services.web.adapters.rendering import HERE
from shared.i18n import missing_translations

CATALOG = HERE / "translations" / "sv" / "LC_MESSAGES" / "messages.po"


def words_in_the_pages() -> set[str]:
    methods = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {
        "**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
    }
    keywords = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
    found = extract_from_dir(str(HERE), methods, options_map=options, keywords=keywords)
    return {message if isinstance(message, str) else message[0] for _file, _line, message, _comments, _ctx in found}


def test_every_word_in_the_pages_has_a_swedish_translation() -> None:
    from babel.messages.pofile import read_po

    with CATALOG.open("rb") as source:
        catalog = [m for m in read_po(source) if m.id]
    # A plural entry is found by its singular and translated when every form is.
    swedish = {
        (m.id[0] if isinstance(m.id, tuple) else str(m.id)): all(m.string) if isinstance(m.string, tuple) else m.string
        for m in catalog
    }
    untranslated = sorted(word for word in words_in_the_pages() if not swedish.get(word))
    assert untranslated == [], "run `make i18n` and translate the new entries in " + str(CATALOG)


def test_the_swedish_catalog_has_no_entry_left_empty() -> None:
    assert missing_translations(CATALOG) == []


def test_the_catalogs_are_where_the_web_reads_them() -> None:
    assert Path(CATALOG).exists()
