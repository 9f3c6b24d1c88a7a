"""Notifications on its embedded default, SQLite: the sender and an erasure writing one delivery at once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from shared.db import utcnow
from shared.migrations import upgrade
from shared.testing import eventually

from .. import factories
from ..conftest import Service, ServiceFactory, SmtpServer

pytestmark = pytest.mark.integration

ALI = "ali.hassan@example.org"


async def sqlite_service(notifications: ServiceFactory, smtp_port: int, directory: Path) -> Service:
    url = f"sqlite+aiosqlite:///{directory / 'notifications.db'}"
    await asyncio.to_thread(upgrade, "notifications", url)
    return await notifications(smtp_port, database_url=url, coordinator_emails=[])


async def test_an_erasure_committed_while_the_sender_records_an_outcome_is_not_undone(
    notifications: ServiceFactory, smtp_down: SmtpServer, tmp_path: Path
) -> None:
    service = await sqlite_service(notifications, smtp_down.port, tmp_path)
    invitation = factories.invited()
    assert invitation.member.resource_id is not None
    await service.deliver(invitation, producer="matching")
    [row] = await service.rows("SELECT id FROM deliveries")

    # The sender's read-modify-write of the outcome, with the erasure arriving between its read and its write.
    uow: NotificationsUnitOfWork = service.bus.uow_factory()
    async with uow:
        delivery = await uow.deliveries.get(uuid.UUID(str(row["id"])), for_update=True)
        assert delivery is not None and delivery.recipient == ALI
        erasure = asyncio.create_task(
            service.deliver(factories.erased(invitation.member.resource_id), producer="resources")
        )
        # An erasure that does not wait for this transaction is committed well within this.
        await asyncio.wait({erasure}, timeout=2.0)
        delivery.record_sent(utcnow())
        await uow.deliveries.save(delivery)
        await uow.commit()
    await erasure

    [after] = await service.rows("SELECT recipient, body_text, body_html FROM deliveries")
    assert after == {"recipient": None, "body_text": None, "body_html": None}


async def test_people_erased_while_the_sender_works_through_their_emails_stay_erased(
    notifications: ServiceFactory, smtp: SmtpServer, tmp_path: Path
) -> None:
    service = await sqlite_service(notifications, smtp.port, tmp_path)
    invitations = [factories.invited(seat=factories.member(f"Person {n}", f"person{n}@example.org")) for n in range(30)]
    for invitation in invitations:
        await service.deliver(invitation, producer="matching")
    erased = invitations[::2]
    for invitation in erased:  # while the sender is sending the first of them
        assert invitation.member.resource_id is not None
        await service.deliver(factories.erased(invitation.member.resource_id), producer="resources")

    async def settled() -> list[dict[str, object]] | None:
        rows = await service.rows("SELECT resource_id, recipient, body_text, status FROM deliveries")
        return rows if all(r["status"] != "queued" for r in rows) else None

    rows = await eventually(settled)
    erased_ids = {str(i.member.resource_id).replace("-", "") for i in erased}  # SQLite keeps a UUID as hex
    for row in rows:
        if row["resource_id"] in erased_ids:
            assert (row["recipient"], row["body_text"]) == (None, None), row
        else:
            assert row["recipient"] and row["status"] == "sent", row
