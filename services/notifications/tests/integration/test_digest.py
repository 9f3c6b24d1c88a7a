"""The daily digest on the real parts: PostgreSQL, a real SMTP server, the digest run at a chosen moment."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notifications.handlers import QueueDigests
from shared.db import utcnow
from shared.taxonomy import Language

from .. import factories
from ..conftest import Service, ServiceFactory, SmtpServer
from ..factories import COORDINATORS

pytestmark = pytest.mark.integration

EVA, OLLE = COORDINATORS  # the staff token's email is Eva's
MALMO = ZoneInfo("Europe/Stockholm")
# A day that has passed, so the digests its run queues are due for the sender at once.
DAY = (utcnow() - timedelta(days=3)).astimezone(MALMO).date()
AT_SEVEN = datetime.combine(DAY, time(7), tzinfo=MALMO)
NEXT_DAY = DAY + timedelta(days=1)


async def choose_digest(service: Service, language: str | None = None) -> None:
    answer = await service.client.put(
        "/api/v1/preferences/me",
        json={"alert_mode": "daily_digest", "language": language},
        headers=service.token("coordinator"),
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture
async def digest_service(notifications: ServiceFactory, smtp: SmtpServer) -> Service:
    """The service with Eva as its one coordinator, who chose the daily digest."""
    service = await notifications(smtp.port, coordinator_emails=[EVA])
    await choose_digest(service)
    return service


def unsubscribe_path(service: Service, url: str) -> str:
    """The JSON endpoint behind the digest's unsubscribe link (the link opens the web's page)."""
    base = str(service.settings.platform.web_public_url).rstrip("/")
    assert url.startswith(f"{base}/unsubscribe/"), url
    return "/api/v1" + url.removeprefix(base)


async def test_a_coordinator_who_chose_the_digest_gets_no_single_alerts_but_one_digest_at_the_digest_hour(
    service: Service, smtp: SmtpServer
) -> None:
    await choose_digest(service, "en")
    submitted, proposed = factories.submitted(), factories.proposed()
    await service.deliver(submitted)
    await service.deliver(proposed, producer="matching")

    rows = await service.settled(5)  # receipt, Olle's two alerts, Eva's two held ones
    assert sorted(r["status"] for r in rows if r["recipient"] == EVA) == ["held", "held"]
    assert smtp.handler.to(EVA) == [] and len(smtp.handler.to(OLLE)) == 2
    assert await service.bus.handle(QueueDigests(AT_SEVEN - timedelta(minutes=1))) == 0  # not yet time

    assert await service.bus.handle(QueueDigests(AT_SEVEN)) == 1
    rows = await service.settled(6)
    [digest] = [r for r in rows if r["template"] == "coordinator_digest"]
    assert (digest["recipient"], digest["status"], digest["language"]) == (EVA, "sent", "en")
    assert {r["digest_id"] for r in rows if r["recipient"] == EVA and r["id"] != digest["id"]} == {digest["id"]}
    assert {r["status"] for r in rows if r["digest_id"]} == {"in_digest"}

    [message] = smtp.handler.to(EVA)
    assert message["Subject"] == f"Daily digest: 2 alerts ({DAY})"
    assert message["Content-Language"] == "en"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    assert "1. New initiative MM-2026-0042: Sommarjobb för unga i Sofielund" in text  # oldest first
    assert "2. Working group proposal to confirm: MM-2026-0042" in text
    assert "Karin Lind" in text and "Ali Hassan" in text  # each alert in full
    assert f'href="{proposed.review_url}"' in html.get_content()
    assert "sommarjobb &lt;tillsammans&gt;" in html.get_content()  # escaped once, not twice
    url = message["List-Unsubscribe"].strip("<>")
    assert url in text and f'href="{url}"' in html.get_content()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_path(service, url)


async def test_the_digest_is_sent_once_a_day_however_often_it_runs(digest_service: Service, smtp: SmtpServer) -> None:
    await digest_service.deliver(factories.submitted())
    await digest_service.settled(2)

    runs = await asyncio.gather(*(digest_service.bus.handle(QueueDigests(AT_SEVEN)) for _ in range(3)))
    assert sorted(runs) == [0, 0, 1]
    assert await digest_service.bus.handle(QueueDigests(AT_SEVEN.replace(hour=22))) == 0
    await digest_service.settled(3)
    [digest] = smtp.handler.to(EVA)
    assert digest["Subject"] == f"Dagens sammanfattning: 1 avisering ({DAY})"  # Swedish unless chosen

    # An alert after the day's digest waits for the next day's, even when the run repeats that day.
    await digest_service.deliver(factories.info_requested())
    await digest_service.deliver(factories.updated())
    await digest_service.settled(5)
    assert await digest_service.bus.handle(QueueDigests(AT_SEVEN.replace(hour=23))) == 0
    assert [
        r["status"]
        for r in await digest_service.rows(
            "SELECT status FROM deliveries WHERE template LIKE 'coordinator_initiative_updated'"
        )
    ] == ["held"]
    assert await digest_service.bus.handle(QueueDigests(AT_SEVEN + timedelta(days=1))) == 1
    await digest_service.settled(6)
    assert [m["Subject"] for m in smtp.handler.to(EVA)][1] == f"Dagens sammanfattning: 1 avisering ({NEXT_DAY})"


async def test_reading_the_unsubscribe_link_changes_nothing_and_its_post_switches_back_to_immediate(
    digest_service: Service, smtp: SmtpServer
) -> None:
    await digest_service.deliver(factories.submitted())
    await digest_service.settled(2)
    await digest_service.bus.handle(QueueDigests(AT_SEVEN))
    await digest_service.settled(3)
    path = unsubscribe_path(digest_service, smtp.handler.to(EVA)[0]["List-Unsubscribe"].strip("<>"))

    for _ in range(2):  # a mail scanner opening the link changes nothing
        target = await digest_service.client.get(path)
        assert target.status_code == 200 and target.json()["alert_mode"] == "daily_digest"
    mine = await digest_service.client.get("/api/v1/preferences/me", headers=digest_service.token("coordinator"))
    assert mine.json()["alert_mode"] == "daily_digest"

    assert (await digest_service.client.get(path[:-3] + "xyz")).status_code == 404
    assert (await digest_service.client.post(path[:-3] + "xyz")).status_code == 404

    unsubscribed = await digest_service.client.post(path)  # the web's button, or its one-click route
    assert unsubscribed.status_code == 200 and unsubscribed.json()["alert_mode"] == "immediate"
    mine = await digest_service.client.get("/api/v1/preferences/me", headers=digest_service.token("coordinator"))
    assert mine.json()["alert_mode"] == "immediate"
    assert (await digest_service.client.get(path)).json()["alert_mode"] == "immediate"
    assert (await digest_service.client.post(path)).json()["alert_mode"] == "immediate"  # again: nothing more
    assert (await digest_service.client.get(path.removeprefix("/api/v1"))).status_code == 404  # the page is web's

    await digest_service.deliver(factories.updated())
    rows = await digest_service.settled(4)
    assert [r["status"] for r in rows if r["template"] == "coordinator_initiative_updated"] == ["sent"]
    assert [m["Subject"] for m in smtp.handler.to(EVA)][1] == "Initiativtagaren har svarat: MM-2026-0042"


async def test_choosing_the_digest_again_revokes_the_unsubscribe_links_sent_before_and_the_next_digest_has_a_new_one(
    digest_service: Service, smtp: SmtpServer
) -> None:
    await digest_service.deliver(factories.submitted())
    await digest_service.settled(2)
    await digest_service.bus.handle(QueueDigests(AT_SEVEN))
    await digest_service.settled(3)
    old = unsubscribe_path(digest_service, smtp.handler.to(EVA)[0]["List-Unsubscribe"].strip("<>"))
    assert (await digest_service.client.post(old)).json()["alert_mode"] == "immediate"

    await choose_digest(digest_service)  # re-subscribing (the console's save) resets the links
    for gone in (await digest_service.client.get(old), await digest_service.client.post(old)):
        assert gone.status_code == 410 and gone.json()["state"] == "replaced"
    mine = await digest_service.client.get("/api/v1/preferences/me", headers=digest_service.token("coordinator"))
    assert mine.json()["alert_mode"] == "daily_digest", "the old link unsubscribed nobody"

    await digest_service.deliver(factories.updated())
    await digest_service.settled(4)
    assert await digest_service.bus.handle(QueueDigests(AT_SEVEN + timedelta(days=1))) == 1
    await digest_service.settled(5)
    latest = smtp.handler.to(EVA)[-1]
    new = unsubscribe_path(digest_service, latest["List-Unsubscribe"].strip("<>"))
    assert new != old
    assert (await digest_service.client.get(new)).json()["alert_mode"] == "daily_digest"
    assert (await digest_service.client.post(new)).json()["alert_mode"] == "immediate"  # one-click still works


async def test_transactional_emails_carry_no_unsubscribe_headers(service: Service, smtp: SmtpServer) -> None:
    await service.deliver(factories.submitted())
    await service.settled(3)
    assert len(smtp.messages) == 3
    assert all(m["List-Unsubscribe"] is None and m["List-Unsubscribe-Post"] is None for m in smtp.messages)


async def test_a_coordinator_sets_only_their_own_preference_and_a_bad_value_is_refused(
    service: Service, smtp: SmtpServer
) -> None:
    mine = await service.client.get("/api/v1/preferences/me", headers=service.token("coordinator"))
    assert mine.json() == {"alert_mode": "immediate", "language": None}

    bad = await service.client.put(
        "/api/v1/preferences/me", json={"alert_mode": "weekly"}, headers=service.token("coordinator")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("alert_mode")
    bad_language = await service.client.put(
        "/api/v1/preferences/me",
        json={"alert_mode": "immediate", "language": "de"},
        headers=service.token("coordinator"),
    )
    assert bad_language.status_code == 422
    assert (await service.client.put("/api/v1/preferences/me", json={"alert_mode": "daily_digest"})).status_code == 401
    as_operator = await service.client.put(
        "/api/v1/preferences/me", json={"alert_mode": "daily_digest"}, headers=service.token("operator")
    )
    assert as_operator.status_code == 403

    await choose_digest(service)
    await service.deliver(factories.submitted())
    rows = await service.settled(3)
    assert {r["recipient"]: r["status"] for r in rows if r["recipient_role"] == "coordinator"} == {
        EVA: "held",
        OLLE: "sent",
    }


async def test_erasure_reaches_the_alerts_held_for_a_digest_and_the_digest_itself(
    digest_service: Service, smtp: SmtpServer
) -> None:
    ali, sara = (
        factories.member("Ali Hassan", "ali.hassan@example.org"),
        factories.member("Sara Berg", "sara.berg@malmo.se"),
    )
    nils = factories.member("Nils Ek", "nils.ek@malmo.se")
    assert ali.resource_id and sara.resource_id and nils.resource_id
    group = factories.formed(group_members=(factories.members()[0], ali, sara))
    await digest_service.deliver(group, producer="matching")
    submitted = factories.submitted()
    await digest_service.deliver(submitted)
    await digest_service.settled(3 + 1 + 2)  # three members, the originator's receipt; Eva's two alerts held

    await digest_service.bus.handle(QueueDigests(AT_SEVEN))
    await digest_service.settled(7)
    assert "Ali Hassan" in smtp.handler.to(EVA)[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # Held, then erased before any digest: it is cancelled and never shown.
    replaced = factories.replaced()
    replaced = replaced.model_copy(update={"previous": nils})
    await digest_service.deliver(replaced, producer="matching")
    await digest_service.deliver(factories.erased(nils.resource_id), producer="resources")
    await digest_service.deliver(factories.erased(ali.resource_id), producer="resources")
    await digest_service.deliver(factories.withdrawn(submitted.initiative_id))

    rows = await digest_service.rows("SELECT * FROM deliveries")
    [cancelled] = [r for r in rows if r["template"] == "coordinator_member_replaced"]
    assert (cancelled["status"], cancelled["body_text"]) == ("cancelled", None)
    assert await digest_service.bus.handle(QueueDigests(AT_SEVEN + timedelta(days=1))) == 0
    [digest] = [r for r in rows if r["template"] == "coordinator_digest"]
    assert (digest["body_text"], digest["body_html"], digest["recipient"]) == (None, None, EVA)
    dumped = json.dumps([list(r.values()) for r in rows], default=str)
    assert "Ali Hassan" not in dumped and "Nils Ek" not in dumped and "Karin Lind" not in dumped
    assert "ali.hassan@example.org" not in dumped, [
        r for r in rows if "ali.hassan" in json.dumps(list(r.values()), default=str)
    ]


async def test_an_initiative_withdrawn_after_the_digest_clears_the_digest_that_showed_it(
    digest_service: Service, smtp: SmtpServer
) -> None:
    submitted = factories.submitted(Language.EN)
    await digest_service.deliver(submitted)
    await digest_service.settled(2)
    await digest_service.bus.handle(QueueDigests(AT_SEVEN))
    await digest_service.settled(3)

    await digest_service.deliver(factories.withdrawn(submitted.initiative_id))

    rows = await digest_service.rows("SELECT template, body_text, body_html FROM deliveries")
    assert all(r["body_text"] is None and r["body_html"] is None for r in rows), rows
