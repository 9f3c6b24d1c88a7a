"""The staff API over the delivery log, on PostgreSQL with a real SMTP server."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.db import utcnow

from .. import factories
from ..conftest import Service, ServiceFactory, SmtpServer
from ..factories import COORDINATORS, ORIGINATOR

pytestmark = pytest.mark.integration


async def test_staff_list_deliveries_newest_first_with_addresses_masked_and_no_texts(
    service: Service, smtp: SmtpServer
) -> None:
    await service.deliver(factories.submitted())
    await service.settled(3)

    for role in ("coordinator", "operator"):
        answer = await service.client.get("/api/v1/deliveries", headers=service.token(role))
        assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == 3 and len(page["items"]) == 3
    assert {item["recipient"] for item in page["items"]} == {"k***@example.org", "e***@malmo.se", "o***@malmo.se"}
    assert "karin" not in answer.text and "body" not in answer.text and "Karin" not in answer.text
    item = page["items"][0]
    assert item["status"] == "sent" and item["attempts"] == 1 and item["message_id"].endswith("@meetmalmo.se>")


async def test_the_list_filters_by_status_template_recipient_role_and_date_and_pages(
    service: Service, smtp: SmtpServer
) -> None:
    smtp.handler.refuse_always(ORIGINATOR, "550 5.1.1 no such user")
    await service.deliver(factories.submitted())
    await service.deliver(factories.updated())
    await service.settled(5)
    staff = service.token("operator")

    async def listed(**params: str | int) -> dict:  # type: ignore[type-arg]
        answer = await service.client.get("/api/v1/deliveries", params=params, headers=staff)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    failed = await listed(status="failed")
    assert [(i["template"], i["status"]) for i in failed["items"]] == [("originator_receipt", "failed")]
    assert failed["items"][0]["last_error"] == "550 5.1.1 no such user"
    assert (await listed(template="coordinator_initiative_updated"))["total"] == 2
    assert (await listed(template="coordinator_initiative_submitted", status="sent"))["total"] == 2
    to_originators = await listed(recipient_role="originator")
    assert {i["recipient_role"] for i in to_originators["items"]} == {"originator"} and to_originators["total"] == 1
    assert (await listed(recipient_role="coordinator", status="sent"))["total"] == 4
    an_hour_ago = (utcnow() - timedelta(hours=1)).isoformat()
    assert (await listed(**{"from": an_hour_ago}))["total"] == 5
    assert (await listed(until=an_hour_ago))["total"] == 0
    first, second = await listed(limit=3), await listed(limit=3, offset=3)
    assert (first["total"], len(first["items"]), len(second["items"])) == (5, 3, 2)
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}

    answer = await service.client.get("/api/v1/deliveries", params={"status": "lost"}, headers=staff)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "status"


async def test_a_failed_delivery_retried_by_staff_is_sent_once_the_address_works(
    service: Service, smtp: SmtpServer
) -> None:
    smtp.handler.refuse_always(ORIGINATOR, "550 5.1.1 mailbox unavailable")
    await service.deliver(factories.submitted())
    rows = await service.settled(3)
    failed_id = next(r["id"] for r in rows if r["status"] == "failed")

    del smtp.handler.permanent[ORIGINATOR]  # the originator's mailbox is fixed
    answer = await service.client.post(f"/api/v1/deliveries/{failed_id}/retry", headers=service.token("coordinator"))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["attempts"]) == ("queued", 0)

    rows = await service.settled(3)
    assert {r["status"] for r in rows} == {"sent"}
    assert len(smtp.handler.to(ORIGINATOR)) == 1
    again = await service.client.post(f"/api/v1/deliveries/{failed_id}/retry", headers=service.token("coordinator"))
    assert again.status_code == 409 and again.json()["current_status"] == "sent"
    by_operator = await service.client.post(f"/api/v1/deliveries/{failed_id}/retry", headers=service.token("operator"))
    assert by_operator.status_code == 403, "operators watch; retrying is a coordinator's decision"


async def test_an_operator_reads_the_log_but_may_not_send_an_email_again(service: Service, smtp: SmtpServer) -> None:
    smtp.handler.refuse_always(ORIGINATOR, "550 5.1.1 mailbox unavailable")
    await service.deliver(factories.submitted())
    failed_id = next(r["id"] for r in await service.settled(3) if r["status"] == "failed")

    refused = await service.client.post(f"/api/v1/deliveries/{failed_id}/retry", headers=service.token("operator"))
    assert refused.status_code == 403
    [row] = await service.rows("SELECT status FROM deliveries WHERE id = :id", id=failed_id)
    assert row["status"] == "failed"
    shown = await service.client.get(f"/api/v1/deliveries/{failed_id}", headers=service.token("operator"))
    assert shown.status_code == 200 and shown.json()["status"] == "failed"


async def test_the_staff_api_needs_a_staff_token_and_answers_404_for_an_unknown_delivery(
    service: Service, smtp: SmtpServer
) -> None:
    assert (await service.client.get("/api/v1/deliveries")).status_code == 401
    unknown = f"/api/v1/deliveries/{uuid.uuid4()}"
    assert (await service.client.post(unknown + "/retry")).status_code == 401
    assert (await service.client.get("/api/v1/deliveries", headers=service.token("originator"))).status_code == 403
    assert (await service.client.post(unknown + "/retry", headers=service.token("originator"))).status_code == 403
    assert (await service.client.get(unknown, headers=service.token("operator"))).status_code == 404
    assert (await service.client.post(unknown + "/retry", headers=service.token("coordinator"))).status_code == 404


async def test_one_delivery_can_be_looked_at_and_shows_when_it_was_erased(
    notifications: ServiceFactory, smtp: SmtpServer
) -> None:
    service = await notifications(smtp.port, coordinator_emails=[COORDINATORS[0]])
    submitted = factories.submitted()
    await service.deliver(submitted)
    rows = await service.settled(2)
    await service.deliver(factories.withdrawn(submitted.initiative_id))

    receipt = next(r for r in rows if r["template"] == "originator_receipt")
    answer = await service.client.get(f"/api/v1/deliveries/{receipt['id']}", headers=service.token("coordinator"))
    assert answer.status_code == 200
    assert answer.json() | {"created_at": None, "updated_at": None, "sent_at": None} == {
        "id": str(receipt["id"]),
        "event_id": str(receipt["event_id"]),
        "event_type": "InitiativeSubmitted",
        "template": "originator_receipt",
        "recipient": None,
        "recipient_role": "originator",
        "language": "sv",
        "subject": "Vi har tagit emot ert initiativ MM-2026-0042",
        "status": "sent",
        "attempts": 1,
        "failures": 0,
        "last_error": None,
        "next_attempt_at": None,
        "message_id": receipt["message_id"],
        "erased": True,
        "created_at": None,
        "updated_at": None,
        "sent_at": None,
    }
