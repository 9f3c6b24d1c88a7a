"""A resource's profile: what a person tells about themselves, and the rules its values follow. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from shared.taxonomy import Competence, Language, OrganisationType, Theme
from shared.validation import plain_text

T = TypeVar("T")

MIN_CAPACITY, MAX_CAPACITY = 1, 5
MAX_HOURS_PER_MONTH = 160
MAX_TAGS, MAX_TAG_LENGTH = 20, 50
MAX_LANGUAGES = 20
MAX_EMAIL_LENGTH = 254

# Swedish standard industrial classification (SNI 2007): the sections are the letters A to U.
SNI_SECTIONS = frozenset("ABCDEFGHIJKLMNOPQRSTU")

# ISO 639-1: every two-letter language code.
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee
    el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is
    it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms
    mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk
    sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu""".split()  # noqa: SIM905 - a block of codes reads better than 183 quoted strings
)


# --- values: each normaliser returns the canonical form or raises ValueError with a reason ----------------


def unique(items: Iterable[T]) -> tuple[T, ...]:
    """The items without repeats, in their first order."""
    return tuple(dict.fromkeys(items))


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValueError(f"is longer than {MAX_EMAIL_LENGTH} characters")
    return email


def normalise_sector(value: str) -> str:
    section = value.strip().upper()
    if section not in SNI_SECTIONS:
        raise ValueError("is not an SNI section letter (A to U)")
    return section


def normalise_language_code(value: str) -> str:
    code = value.strip().lower()
    if code not in ISO_639_1:
        raise ValueError("is not an ISO 639-1 language code (two letters, e.g. sv, en, ar)")
    return code


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, without empty ones and without repeats that differ only in case."""
    kept: dict[str, str] = {}
    for tag in tags:
        cleaned = " ".join(plain_text(tag).split())
        if cleaned:
            kept.setdefault(cleaned.casefold(), cleaned)
    return tuple(kept.values())


@dataclass(frozen=True)
class Profile:
    """What a person tells about themselves; values arrive normalised (see the functions above)."""

    name: str
    email: str
    organisation_name: str
    organisation_type: OrganisationType
    role_title: str
    competences: tuple[Competence, ...]
    themes: tuple[Theme, ...]
    languages: tuple[str, ...]
    phone: str | None = None
    organisation_number: str | None = None
    sector: str | None = None
    tags: tuple[str, ...] = ()
    capacity: int = MIN_CAPACITY
    hours_per_month: int | None = None
    language: Language = Language.SV

    def __post_init__(self) -> None:
        problems = [
            ("competences", not self.competences, "at least one competence is required"),
            ("themes", not self.themes, "at least one theme is required"),
            ("languages", not self.languages, "at least one language is required"),
            ("capacity", not MIN_CAPACITY <= self.capacity <= MAX_CAPACITY, "must be between 1 and 5"),
            ("tags", len(self.tags) > MAX_TAGS, f"at most {MAX_TAGS} tags"),
        ]
        for field, failed, reason in problems:
            if failed:
                raise ValueError(f"{field}: {reason}")
