"""The sender's leases on both databases notifications runs on (SQLite for `make run`, PostgreSQL): what a
round gives back is only what it claimed and never began to hand over; one whose handover began keeps its
lease (if that runs out, its outcome is unknown: it is never sent a second time by itself)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.notifications.bootstrap import create_app
from services.notifications.db.unit_of_work import NotificationsUnitOfWork
from services.notifications.domain import Delivery, RecipientRole, Rendered
from services.notifications.settings import Settings
from shared.db import utcnow
from shared.messagebus import MessageBus
from shared.migrations import upgrade
from shared.settings import PlatformSettings
from shared.testing import drop_database, migrated_database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
async def bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MessageBus[NotificationsUnitOfWork]]:
    """Notifications' use cases on a migrated database, its sender not running (the test is the sender)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}"
        await asyncio.to_thread(upgrade, "notifications", url)
    else:
        url = await migrated_database(request.getfixturevalue("postgres_server"), "notifications")
    app = create_app(Settings(database_url=url, platform=PlatformSettings(kafka_bootstrap="127.0.0.1:1")))
    try:
        yield app.state.bus
    finally:
        await app.state.infra.engine.dispose()
        if request.param == "postgresql":
            await drop_database(url)


def receipt(n: int, now: datetime) -> Delivery:
    return Delivery.queue(
        event_id=uuid.uuid4(),
        event_type="InitiativeSubmitted",
        template="originator_receipt",
        recipient=f"person{n}@example.org",
        role=RecipientRole.ORIGINATOR,
        language="sv",
        rendered=Rendered("Vi har tagit emot ert initiativ", "Hej!", "<p>Hej!</p>"),
        message_id_domain="meetmalmo.se",
        now=now,
    )


async def test_a_round_gives_back_what_it_never_began_to_hand_over_and_keeps_the_lease_of_the_rest(
    bus: MessageBus[NotificationsUnitOfWork],
) -> None:
    now = utcnow()
    handed_over, untried = receipt(1, now), receipt(2, now)
    token = uuid.uuid4()
    async with bus.uow_factory() as uow:
        for delivery in (handed_over, untried):
            assert await uow.deliveries.add(delivery)
        await uow.commit()
    async with bus.uow_factory() as uow:
        claimed = await uow.deliveries.claim_many([handed_over.id, untried.id], token, now, now + timedelta(minutes=2))
        assert len(claimed) == 2
        assert await uow.deliveries.begin_handover(handed_over.id, token, now)
        await uow.commit()

    async with bus.uow_factory() as uow:  # the round's end names both: it does not know how far each got
        assert await uow.deliveries.release([handed_over.id, untried.id], token, now) == 1
        await uow.commit()

    async with bus.uow_factory() as uow:
        assert await uow.deliveries.due(now, 10) == [untried.id]
        kept, given_back = await uow.deliveries.get(handed_over.id), await uow.deliveries.get(untried.id)
    assert kept is not None and (kept.lease_token, kept.attempts) == (token, 1)
    assert given_back is not None and (given_back.lease_token, given_back.attempts) == (None, 0)
