"""Topics are created with the platform's durability settings; a consumer group whose committed offsets
fell out of retention stops with a clear error instead of skipping; a new group starts from the first
record. Against the real Kafka."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.broker import OffsetsOutOfRetention, TopicSettings, check_committed_offsets, ensure_topics
from shared.contracts import Topic
from shared.dlq import commit_offsets, partitions_of, records_on
from shared.service import Infrastructure
from shared.testing import create_database, drop_database, eventually
from tests.test_messaging_through_kafka import ProbeRecorded, apply_probe, bus, infrastructure, metadata

pytestmark = pytest.mark.integration


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    yield client
    await client.close()


async def topic_configs(admin: AIOKafkaAdminClient, topic: str) -> dict[str, str]:
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [resource] = response.to_object()["resources"]
    return {entry["config_names"]: entry["config_value"] for entry in resource["config_entries"]}


async def test_topics_are_created_with_the_partitions_replication_and_retention_of_the_settings(
    kafka_bootstrap: str, topic_namespace: str, admin: AIOKafkaAdminClient
) -> None:
    topic = topic_namespace + Topic.GROUPS
    settings = TopicSettings(partitions=2, retention_ms=3_600_000, dead_letter_retention_ms=7_200_000)
    await ensure_topics(kafka_bootstrap, [topic, topic + ".dlq"], settings)

    # Right after creation the broker may not list the partitions yet.
    assert len(await eventually(lambda: partitions_of(kafka_bootstrap, topic))) == 2
    configs = await topic_configs(admin, topic)
    assert configs["retention.ms"] == "3600000" and configs["min.insync.replicas"] == "1"
    assert configs["cleanup.policy"] == "delete"
    assert (await topic_configs(admin, topic + ".dlq"))["retention.ms"] == "7200000"
    [described] = await admin.describe_topics([topic])
    assert {len(p["replicas"]) for p in described["partitions"]} == {1}  # replication factor 1 locally


async def produce(bootstrap: str, topic: str, partition: int, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, f"record {n}".encode(), partition=partition)
    finally:
        await producer.stop()


async def test_a_group_whose_committed_offset_fell_out_of_retention_is_refused_and_a_new_group_is_not(
    kafka_bootstrap: str, topic_namespace: str, admin: AIOKafkaAdminClient
) -> None:
    topic = topic_namespace + Topic.GROUPS
    await ensure_topics(kafka_bootstrap, [topic], TopicSettings(partitions=2))
    first, second = TopicPartition(topic, 0), TopicPartition(topic, 1)
    await produce(kafka_bootstrap, topic, 0, 5)
    group = topic_namespace + "reader"

    assert await check_committed_offsets(kafka_bootstrap, group, [topic]) is False  # new: starts at earliest
    await commit_offsets(kafka_bootstrap, group, {first: 2})
    assert await check_committed_offsets(kafka_bootstrap, group, [topic]) is False  # partition 1 never read
    await commit_offsets(kafka_bootstrap, group, {second: 0})
    assert await check_committed_offsets(kafka_bootstrap, group, [topic]) is True  # read everywhere: "none"

    await admin.delete_records({first: RecordsToDelete(4)})  # as retention would: 0-3 go, the group read only 0-1
    with pytest.raises(OffsetsOutOfRetention, match=r"committed 2 < oldest kept 4"):
        await check_committed_offsets(kafka_bootstrap, group, [topic])


async def test_a_service_whose_group_fell_out_of_retention_skips_nothing_says_why_and_runs_on(
    postgres_server: str, kafka_bootstrap: str, topic_namespace: str, admin: AIOKafkaAdminClient
) -> None:
    topic = topic_namespace + Topic.NOTIFICATIONS
    await ensure_topics(kafka_bootstrap, [topic, topic + ".dlq"], TopicSettings())
    partitions = await eventually(lambda: partitions_of(kafka_bootstrap, topic))
    await produce(kafka_bootstrap, topic, 0, 5)  # not events: read, they would go to the DLQ at once
    group = topic_namespace + "kit-consumer"
    await commit_offsets(kafka_bootstrap, group, {tp: 0 for tp in partitions})
    await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(3)})  # 0-2 gone unread

    url = await create_database(postgres_server, "kit_consumer")
    consumer: Infrastructure = infrastructure("kit-consumer", url, kafka_bootstrap, topic_namespace)
    async with consumer.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    consumer.consume("kit-consumer", {Topic.NOTIFICATIONS: {ProbeRecorded: apply_probe}}, bus(consumer))
    try:
        async with consumer.running():
            await eventually(lambda: consumer.supervisor.health["broker-connect"].done, timeout=60)
            await eventually(lambda: group_has_members(admin, group), timeout=60)
            await asyncio.sleep(5)  # time enough to have read records 3-4 and dead-lettered them, had it skipped
            checks = await consumer.readiness()
            assert checks[f"consumer:{group}"] is False
            assert checks["task:broker-connect"] and checks["task:outbox-relay"]  # the rest runs on
            problem = consumer.task_problems()[f"consumer:{group}"]
            assert "fell out of the topics' retention" in problem and "committed 0 < oldest kept 3" in problem
        committed = await admin.list_consumer_group_offsets(group)
        assert committed[TopicPartition(topic, 0)].offset == 0  # nothing skipped
        assert await records_on(kafka_bootstrap, topic + ".dlq") == 0  # nothing read
    finally:
        await consumer.engine.dispose()
        await drop_database(url)


async def group_has_members(admin: AIOKafkaAdminClient, group: str) -> bool:
    [response] = await admin.describe_consumer_groups([group])
    return any(g["members"] for g in response.to_object()["groups"])


def test_production_topic_settings_are_replicated_three_times_with_two_in_sync() -> None:
    # The values the Helm chart sets (deploy/helm values: replication 3, min ISR 2) pass the settings' checks.
    from shared.settings import PlatformSettings

    platform = PlatformSettings(topic_replication_factor=3, topic_min_insync_replicas=2)
    assert TopicSettings.of(platform).configs("meetmalmo.groups.v1")["min.insync.replicas"] == "2"
    with pytest.raises(ValueError, match="MIN_INSYNC_REPLICAS"):
        PlatformSettings(topic_replication_factor=1, topic_min_insync_replicas=2)
