"""The alert coordinators get when no working group can be proposed yet: once each, naming in plain
words what is missing, in Swedish or in the language the coordinator chose."""

from __future__ import annotations

from typing import Any

from services.notifications.adapters.rendering import Renderer
from services.notifications.domain import RecipientRole, Rendered, Template, plan_emails
from shared.contracts.groups import GroupFormationBlocked

from .. import factories
from ..factories import COORDINATORS, WEB

renderer = Renderer()


def blocked_alert(language: str, event: GroupFormationBlocked | None = None, **changes: Any) -> Rendered:
    email = plan_emails(event or factories.formation_blocked(**changes), COORDINATORS, {}, WEB)[0]
    return renderer.render(email.template, language, email.context)


def test_a_blocked_formation_tells_each_coordinator_once_what_is_missing_in_plain_words() -> None:
    event = factories.formation_blocked()
    emails = plan_emails(event, [*COORDINATORS, COORDINATORS[0].upper()], {}, WEB)
    assert [(e.template, e.recipient, e.role) for e in emails] == [
        (Template.COORDINATOR_FORMATION_BLOCKED, address, RecipientRole.COORDINATOR) for address in COORDINATORS
    ]
    assert all(e.initiative_id == event.initiative_id and not e.mentions for e in emails)
    sv, en = blocked_alert("sv", event), blocked_alert("en", event)
    assert sv.subject == "Ingen arbetsgrupp ännu för MM-2026-0001"
    assert en.subject == "No working group yet for MM-2026-0001"
    for rendered, words in [
        (
            sv,
            [
                "En representant för kommunen: ingen från kommunen (eller från en myndighet) är ledig.",
                "2 personer till: gruppen behöver minst 4 och 2 kan vara med just nu.",
                "Kompetenser som behövs men som ingen ledig person har: Projektledning, Rekrytering.",
                "Matchningen föreslår en grupp så snart någon som passar blir tillgänglig",
            ],
        ),
        (
            en,
            [
                "A municipality representative: nobody from the municipality (or from a public authority) is free.",
                "2 more people: the group needs at least 4 and 2 can take part right now.",
                "Competences needed that nobody who is free brings: Project management, Recruitment.",
                "Matching will propose a group as soon as someone suitable becomes available",
            ],
        ),
    ]:
        for phrase in words:
            assert phrase in rendered.text and phrase in rendered.html, phrase
        assert event.review_url in rendered.text and f'href="{event.review_url}"' in rendered.html
        assert "project_management" not in rendered.text + rendered.html


def test_a_blocked_formation_names_only_what_is_missing() -> None:
    one_short = blocked_alert("en", missing=("people",), people_needed=3, people_free=2, missing_competences=())
    assert "- 1 more person: the group needs at least 3 and 2 can take part right now." in one_short.text
    assert "municipality" not in one_short.text and "Competence" not in one_short.text
    alone = blocked_alert("sv", missing=("competences",), missing_competences=("finance",))
    assert "- Kompetens som behövs men som ingen ledig person har: Finansiering och ekonomi." in alone.text
    assert "personer till" not in alone.text and "representant" not in alone.text
    enough_but_not_together = blocked_alert("sv", missing=("people",), people_needed=3, people_free=3)
    assert "- Fler personer: gruppen behöver minst 3 och 3 kan vara med just nu." in enough_but_not_together.text
