"""End to end on the real broker: events reach the SMTP server once; republished copies and replays send nothing."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError
from sqlalchemy import MetaData, update

from services.notifications.consumers import CONSUMER
from shared.contracts import Event, Topic
from shared.outbox import define_outbox_table
from shared.service import Infrastructure
from shared.settings import PlatformSettings, ServiceSettings
from shared.testing import create_database, drop_database, eventually, read_records
from shared.unit_of_work import UnitOfWork

from .. import factories
from ..conftest import ServiceFactory, SmtpServer
from ..factories import COORDINATORS, ORIGINATOR

pytestmark = pytest.mark.integration

stand_in_metadata = MetaData()
stand_in_outbox = define_outbox_table(stand_in_metadata)


@pytest.fixture
async def stand_in(postgres_server: str, kafka_bootstrap: str, topic_namespace: str) -> AsyncIterator[Infrastructure]:
    """A throw-away producer with an outbox of its own, publishing as intake or matching would."""
    url = await create_database(postgres_server, "intake_stand_in")
    platform = PlatformSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=topic_namespace)
    infra = Infrastructure.build(
        ServiceSettings(service_name="intake", database_url=url, platform=platform), stand_in_metadata
    )
    async with infra.engine.begin() as connection:
        await connection.run_sync(stand_in_metadata.create_all)
    async with infra.running():
        yield infra
    await drop_database(url)


@pytest.fixture
def on_the_broker(notifications: ServiceFactory, kafka_bootstrap: str, topic_namespace: str) -> ServiceFactory:
    """Factory: the notifications app consuming this test's topics on the real broker."""
    return functools.partial(notifications, kafka_bootstrap=kafka_bootstrap, namespace=topic_namespace)


async def publish(producer: Infrastructure, event: Event) -> None:
    async with UnitOfWork(producer.session_factory, producer.outbox, producer.relay.wake) as uow:
        await uow.emit(event)
        await uow.commit()


async def republish_everything(producer: Infrastructure) -> None:
    """The producer crashed before marking its outbox as published: it publishes every row again."""
    async with producer.session_factory() as session, session.begin():
        await session.execute(update(stand_in_outbox).values(published_at=None))
    producer.relay.wake()


async def committed_offsets(bootstrap: str, namespace: str) -> dict[TopicPartition, int]:
    """The notifications group's committed offsets on this test's initiatives topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(namespace + CONSUMER)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if tp.topic == namespace + Topic.INITIATIVES}


async def replay_from_the_start(bootstrap: str, namespace: str, partitions: Iterable[TopicPartition]) -> None:
    """What an operator does to replay a topic: move the stopped group's offsets back to 0."""

    async def reset() -> bool:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=namespace + CONSUMER, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(list(partitions))
            await consumer.commit(dict.fromkeys(partitions, 0))
            return True
        except CommitFailedError:  # the stopped member has not left the group yet
            return False
        finally:
            await consumer.stop()

    await eventually(reset, timeout=30)


async def test_an_initiative_reaches_the_smtp_server_once_and_a_replay_from_the_start_sends_nothing_new(
    on_the_broker: ServiceFactory,
    smtp: SmtpServer,
    stand_in: Infrastructure,
    kafka_bootstrap: str,
    topic_namespace: str,
) -> None:
    first = await on_the_broker(smtp.port)
    submitted = factories.submitted()
    await publish(stand_in, submitted)

    await eventually(lambda: len(smtp.messages) == 3)
    assert sorted(m["To"] for m in smtp.messages) == sorted([ORIGINATOR, *COORDINATORS])
    sent = await read_records(
        kafka_bootstrap, topic_namespace + Topic.NOTIFICATIONS, until=lambda records: len(records) >= 3
    )
    assert {r.json()["event_type"] for r in sent} == {"NotificationSent"}
    assert all(ORIGINATOR not in r.value.decode() for r in sent)

    # The producer publishes the same event again (it crashed before marking it), then a later one.
    await republish_everything(stand_in)
    await publish(stand_in, factories.accepted(initiative_id=submitted.initiative_id))
    await eventually(lambda: len(smtp.handler.to(ORIGINATOR)) == 2)  # the later one is processed after the copy
    assert len(smtp.messages) == 4

    # An operator replays the whole topic into a restarted service.
    await first.stop()
    before = await committed_offsets(kafka_bootstrap, topic_namespace)
    assert sum(before.values()) == 3  # the event, its copy, the later event
    await replay_from_the_start(kafka_bootstrap, topic_namespace, before)
    assert set((await committed_offsets(kafka_bootstrap, topic_namespace)).values()) == {0}
    second = await on_the_broker(smtp.port, database_url=first.database_url)
    await publish(stand_in, factories.info_requested(initiative_id=submitted.initiative_id))
    await eventually(lambda: len(smtp.handler.to(ORIGINATOR)) == 3)
    assert len(smtp.messages) == 5  # only the new event's email
    rows = await second.rows("SELECT template, status FROM deliveries")
    assert len(rows) == 5 and {r["status"] for r in rows} == {"sent"}
    await second.stop()
    after = await committed_offsets(kafka_bootstrap, topic_namespace)
    assert sum(after.values()) == 4  # it read everything again, from offset 0, and the new event


async def test_no_group_yet_reaches_each_coordinator_once_through_the_broker_with_the_review_link_whole(
    on_the_broker: ServiceFactory, smtp: SmtpServer, stand_in: Infrastructure
) -> None:
    await on_the_broker(smtp.port)
    blocked = factories.formation_blocked()
    await publish(stand_in, blocked)

    await eventually(lambda: len(smtp.messages) == 2)
    assert sorted(m["To"] for m in smtp.messages) == sorted(COORDINATORS)
    for message in smtp.messages:
        assert message["Subject"] == "Ingen arbetsgrupp ännu för MM-2026-0001"
        plain = message.get_body(("plain",))
        assert plain is not None
        text = plain.get_content()
        assert f"Se initiativet i matchningen:\n{blocked.review_url}\n" in text.replace("\r\n", "\n")
        assert "En representant för kommunen" in text and "Projektledning, Rekrytering" in text

    # The same event again (a republished outbox), then a new blockage of the same initiative after it.
    await republish_everything(stand_in)
    later = factories.formation_blocked(blocked.initiative_id, missing=("people",), people_free=3)
    await publish(stand_in, later)
    await eventually(lambda: len(smtp.messages) == 4)
    texts = [m.get_body(("plain",)).get_content() for m in smtp.messages]  # type: ignore[union-attr]
    assert ["En representant för kommunen" in t for t in texts] == [True, True, False, False]
    assert all("1 person till" in t for t in texts[2:])
