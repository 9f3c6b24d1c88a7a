"""Erasing an initiative's originator contact (real PostgreSQL + Kafka): on a coordinator's request through the
API, and after the retention of an ended initiative. Their name, email and phone are then in no row of intake's
database (every table read as text), OriginatorErased went out once, and the initiative goes on."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.intake.bootstrap import create_app
from services.intake.handlers import EraseExpiredOriginators
from services.intake.schemas.submission import SUBMISSION_EXAMPLE
from services.intake.tests.conftest import Intake, intake_settings
from services.intake.tests.integration.test_api import status_link
from shared.testing import eventually, rows_mentioning

pytestmark = pytest.mark.integration

ORIGINATOR = SUBMISSION_EXAMPLE["originator"]
CONTACT = (ORIGINATOR["contact_name"], ORIGINATOR["contact_email"], "+46701234567")  # the phone as stored (E.164)


async def erased_events(intake: Intake, initiative_id: str) -> list[dict[str, object]]:
    envelopes = await intake.scalars("SELECT envelope FROM outbox WHERE event_type = 'OriginatorErased'")
    return [p for p in (json.loads(e)["payload"] for e in envelopes) if p["initiative_id"] == initiative_id]


async def test_a_coordinator_erases_the_originator_and_their_contact_is_in_no_row_of_intake(intake: Intake) -> None:
    created = await intake.client.post(
        "/api/v1/initiatives", json=SUBMISSION_EXAMPLE, headers={"Idempotency-Key": "portal-anna"}
    )
    initiative = created.json()["id"]
    url = f"/api/v1/initiatives/{initiative}"
    token = await status_link(intake, created.json()["reference"])
    asked = await intake.client.post(
        f"{url}/request-info", json={"message": f"Kan {CONTACT[0]} ringa oss?"}, headers=intake.coordinator
    )
    assert asked.status_code == 200, asked.text
    noted = await intake.client.post(f"{url}/notes", json={"text": f"Mejl: {CONTACT[1]}"}, headers=intake.coordinator)
    assert noted.status_code == 201, noted.text
    await eventually(lambda: _published(intake, "InitiativeInfoRequested"), timeout=20.0)  # some rows are sent
    assert await rows_mentioning(intake.database_url, *CONTACT)  # they are there before

    erased = await intake.client.post(f"{url}/erase-originator", headers=intake.coordinator)

    assert erased.status_code == 200, erased.text
    originator = erased.json()["originator"]
    assert originator["contact_erased"] and originator["contact_name"] == "(erased)"
    assert (originator["contact_email"], originator["contact_phone"]) == ("", None)
    assert originator["organisation_name"] == ORIGINATOR["organisation_name"]  # the organisation is no person
    assert erased.json()["status"] == "info_requested"  # the work goes on
    step = erased.json()["history"][-1]
    assert (step["action"], step["actor"], step["note"]) == ("erase_originator", "eva.coordinator@malmo.se", None)
    assert await rows_mentioning(intake.database_url, *CONTACT) == {}  # initiative, history, notes, outbox
    assert len(await erased_events(intake, initiative)) == 1

    again = await intake.client.post(f"{url}/erase-originator", headers=intake.coordinator)
    assert again.status_code == 200 and again.json()["history"] == erased.json()["history"]
    assert len(await erased_events(intake, initiative)) == 1  # erasing twice is no second step

    view = await intake.client.get(f"/api/v1/my/initiatives/{token}")  # the status link still works
    assert view.status_code == 200 and view.json()["status"] == "info_requested"
    replayed = await intake.client.post(
        "/api/v1/initiatives", json=SUBMISSION_EXAMPLE, headers={"Idempotency-Key": "portal-anna"}
    )
    assert replayed.status_code == 409  # the key's fingerprint is gone: refused, never a second initiative
    answered = await intake.client.post(f"/api/v1/my/initiatives/{token}/answer", json={"answer": "Ja"})
    assert answered.status_code == 200
    (later,) = await _payloads(intake, "InitiativeUpdated")
    assert later["originator"]["contact_email"] == "" and later["originator"]["contact_name"] == "(erased)"
    assert await rows_mentioning(intake.database_url, *CONTACT) == {}


async def test_only_coordinators_erase_and_an_unknown_initiative_is_404(intake: Intake) -> None:
    created = await intake.submit()
    url = f"/api/v1/initiatives/{created['id']}/erase-originator"
    assert (await intake.client.post(url, headers=intake.token("operator", email="ops@malmo.se"))).status_code == 403
    assert (await intake.client.post(url)).status_code == 401
    unknown = await intake.client.post(
        f"/api/v1/initiatives/{uuid.uuid4()}/erase-originator", headers=intake.coordinator
    )
    assert unknown.status_code == 404
    assert await intake.scalar("SELECT count(*) FROM outbox WHERE event_type = 'OriginatorErased'") == 0
    detail = await intake.client.get(f"/api/v1/initiatives/{created['id']}", headers=intake.coordinator)
    assert (
        detail.json()["originator"]["contact_name"] == CONTACT[0] and not detail.json()["originator"]["contact_erased"]
    )


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def intake_with_clock(
    service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[tuple[Intake, Clock]]:
    url, clock = await service_database("intake"), Clock()
    app = create_app(intake_settings(url, kafka_bootstrap, topic_namespace), clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake.test") as client,
    ):
        yield Intake(client, topic_namespace, url), clock


async def test_the_retention_erases_the_originators_of_initiatives_ended_long_enough_ago_only(
    intake_with_clock: tuple[Intake, Clock],
) -> None:
    intake, clock = intake_with_clock
    eva = intake.coordinator
    clock.now -= timedelta(days=400)
    old_rejected = await intake.submit(title="Avslaget för länge sedan")
    await intake.client.post(f"/api/v1/initiatives/{old_rejected['id']}/reject", json={"reason": "Nej"}, headers=eva)
    old_open = await intake.submit(title="Gammalt men fortfarande öppet")
    clock.now += timedelta(days=399)
    recently_withdrawn = await intake.submit(title="Nyss tillbakadraget")
    await intake.client.post(f"/api/v1/initiatives/{recently_withdrawn['id']}/withdraw", json={}, headers=eva)
    clock.now += timedelta(days=1)

    app = intake.client._transport.app  # type: ignore[attr-defined]  # the app behind the ASGI transport
    erased = await app.state.bus.handle(EraseExpiredOriginators(keep=timedelta(days=365)))

    assert erased == 1
    assert await erased_events(intake, old_rejected["id"]) == [{"initiative_id": old_rejected["id"]}]

    async def contact_of(created: dict[str, str]) -> dict[str, object]:
        answer = await intake.client.get(f"/api/v1/initiatives/{created['id']}", headers=eva)
        return answer.json()["originator"]  # type: ignore[no-any-return]

    assert (await contact_of(old_rejected))["contact_erased"]
    assert not (await contact_of(old_open))["contact_erased"]  # never ended: its work may go on
    assert not (await contact_of(recently_withdrawn))["contact_erased"]  # ended a day ago
    history = (await intake.client.get(f"/api/v1/initiatives/{old_rejected['id']}", headers=eva)).json()["history"]
    assert (history[-1]["action"], history[-1]["actor"]) == ("erase_originator", "retention")
    assert await app.state.bus.handle(EraseExpiredOriginators(keep=timedelta(days=365))) == 0


async def _published(intake: Intake, event_type: str) -> bool:
    sql = f"SELECT count(*) FROM outbox WHERE event_type = '{event_type}' AND published_at IS NOT NULL"  # noqa: S608
    return bool(await intake.scalar(sql))


async def _payloads(intake: Intake, event_type: str) -> list[dict[str, object]]:
    envelopes = await intake.scalars(f"SELECT envelope FROM outbox WHERE event_type = '{event_type}'")  # noqa: S608
    return [json.loads(e)["payload"] for e in envelopes]
