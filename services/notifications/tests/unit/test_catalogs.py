"""Every word of every email is in the Swedish catalog (Swedish first), and the catalogs are well formed."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.notifications.adapters.rendering import SERVICE, TEMPLATES, TRANSLATIONS
from shared.i18n import missing_translations

CATALOG = TRANSLATIONS / "sv" / "LC_MESSAGES" / "messages.po"
JINJA = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "True", "trim_blocks": "True", "lstrip_blocks": "True"}


def words_in_the_emails() -> set[str]:
    """What `make i18n` extracts (babel.cfg): the templates' words and the renderer's."""
    templates = ["adapters/templates/**.html", "adapters/templates/**.txt"]
    methods = [*((pattern, "jinja2") for pattern in templates), ("adapters/**.py", "python")]
    options = dict.fromkeys(templates, JINJA)
    keywords = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
    found = extract_from_dir(str(SERVICE), methods, options_map=options, keywords=keywords)
    return {message if isinstance(message, str) else message[0] for _file, _line, message, _comments, _ctx in found}


def swedish() -> dict[str, bool]:
    """Each message id of the Swedish catalog, and whether it is translated (a plural in every form)."""
    with CATALOG.open("rb") as source:
        catalog = read_po(source)
    return {
        (m.id if isinstance(m.id, str) else m.id[0]): all(m.string) if isinstance(m.string, tuple) else bool(m.string)
        for m in catalog
        if m.id
    }


def test_every_word_in_the_emails_has_a_swedish_translation() -> None:
    translated = swedish()
    words = words_in_the_emails()
    assert len(words) > 50  # the extraction found the templates
    untranslated = sorted(word for word in words if not translated.get(word))
    assert untranslated == [], "run `make i18n` and translate the new entries in " + str(CATALOG)


def test_the_swedish_catalog_has_no_entry_left_empty() -> None:
    assert missing_translations(CATALOG) == []
    assert [word for word, done in swedish().items() if not done] == []


def test_one_template_per_email_and_no_copies_per_language() -> None:
    assert not [path for path in TEMPLATES.iterdir() if path.is_dir()]
    assert (TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po").exists()
