"""Retention on PostgreSQL: the texts of emails long done go (they hold personal data); their log entries stay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notifications.handlers import PurgeDeliveryBodies

from .. import factories
from ..conftest import ServiceFactory, SmtpServer
from ..factories import ORIGINATOR

pytestmark = pytest.mark.integration


async def test_the_text_of_an_email_done_longer_than_the_retention_goes_and_its_log_entry_stays(
    notifications: ServiceFactory, smtp: SmtpServer
) -> None:
    service = await notifications(smtp.port)
    await service.deliver(factories.submitted())
    rows = await service.settled(3)
    receipt = next(r for r in rows if r["template"] == "originator_receipt")
    await service.execute(
        "UPDATE deliveries SET updated_at = updated_at - interval '31 days' WHERE id = :id", id=receipt["id"]
    )
    assert await service.bus.handle(PurgeDeliveryBodies(timedelta(days=30))) == 1

    after = {
        r["template"]: r for r in await service.rows("SELECT * FROM deliveries WHERE recipient = :to", to=ORIGINATOR)
    }
    assert (after["originator_receipt"]["body_text"], after["originator_receipt"]["body_html"]) == (None, None)
    assert after["originator_receipt"]["status"] == "sent" and after["originator_receipt"]["subject"]
    others = await service.rows("SELECT body_text FROM deliveries WHERE template = 'coordinator_initiative_submitted'")
    assert all(r["body_text"] for r in others)  # done, but within the retention
    assert await service.bus.handle(PurgeDeliveryBodies(timedelta(days=30))) == 0
