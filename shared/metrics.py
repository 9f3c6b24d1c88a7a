"""Prometheus metrics, wired once: one explicit registry per app, served at `/metrics`.

What a service counts as it works (HTTP requests by route template, Kafka messages through FastStream's
middleware, relay publishes, dead letters) lives in counters and histograms. What is a state — the outbox
backlog and the age of its oldest unsent row, consumer lag, dead letters waiting, background tasks alive,
the collaboration figures — is read at scrape time from the service's own database and from Kafka, so the
figure is the truth at that moment and survives restarts: each `Probe` yields its metric families.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import utcnow

log = structlog.get_logger(__name__)

Probe = Callable[[], Awaitable[Iterable[Metric]]]
"""Reads a state at scrape time and returns its metric families (a failing probe is logged and skipped)."""

SessionProbe = Callable[[AsyncSession], Awaitable[Iterable[Metric]]]
"""A probe over the service's own database: given a read-only session."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SCRAPE_TIMEOUT_SECONDS = 3.0  # a probe whose database or broker is away must not hang the scrape
NOT_MEASURED = ("/metrics", "/healthz", "/readyz", "/static")


class ScrapeTimeCollector(Collector):
    """Hands the registry the families the probes produced for the scrape in progress."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return list(self.families)


class HttpMetrics:
    """Requests by route template (`handler`, "none" when no route matched), method and status, and their
    latency: the names and labels prometheus-fastapi-instrumentator gave them, which the dashboards and
    alerts read."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["handler", "method", "status"]
        self.requests = Counter(
            "http_requests_total", "Total number of requests by method, status and handler.", labels,
            registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "http_request_duration_seconds", "Duration of HTTP requests in seconds", labels,
            buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # labels() takes a lock and builds a key

    def observe(self, handler: str, method: str, status: int, seconds: float) -> None:
        series = self._series.get((handler, method, status))
        if series is None:
            series = self._series[handler, method, status] = (
                self.requests.labels(handler, method, str(status)),
                self.latency.labels(handler, method, str(status)),
            )
        series[0].inc()
        series[1].observe(seconds)


class AppMetrics:
    """The registry of one app: HTTP metrics (`http`, counted by the edge), and probes read when `/metrics`
    is scraped."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self._probes: list[tuple[str, Probe]] = []
        self._scraped = ScrapeTimeCollector()
        self.registry.register(self._scraped)
        self._lock = asyncio.Lock()
        self.http = HttpMetrics(self.registry)

    def add_probe(self, name: str, probe: Probe) -> None:
        self._probes.append((name, probe))

    def serve(self, app: FastAPI, *, behind_ingress: bool = False) -> None:
        """Serve `/metrics` (Prometheus text); the requests are counted by the edge (shared.web.Edge) into
        `self.http`. `behind_ingress` (the web, the one app people reach): a request that came through a proxy
        (X-Forwarded-For) gets 404, so the figures are for the scraper that asks the pod directly, not for
        visitors."""

        @app.get("/metrics", include_in_schema=False)
        async def prometheus_metrics(request: Request) -> Response:
            if behind_ingress and "x-forwarded-for" in request.headers:
                return Response(status_code=404)
            return Response(await self.exposition(), media_type=CONTENT_TYPE_LATEST)

    async def exposition(self) -> bytes:
        """The registry in Prometheus text format, the probes read just now."""
        async with self._lock:
            families: list[Metric] = []
            probe_ok = GaugeMetricFamily(
                "meetmalmo_metrics_probe_up",
                "Whether the probe could read its figures at this scrape",
                labels=["probe"],
            )
            for name, probe in self._probes:
                try:
                    async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
                        families.extend(await probe())
                    probe_ok.add_metric([name], 1)
                except Exception as exc:  # the database or broker is away: say so, keep the other figures
                    log.warning("metrics.probe_failed", probe=name, error_type=type(exc).__name__)
                    probe_ok.add_metric([name], 0)
            self._scraped.families = [*families, probe_ok]
            try:
                return generate_latest(self.registry)
            finally:
                self._scraped.families = []


def session_probe(session_factory: async_sessionmaker[AsyncSession], probe: SessionProbe) -> Probe:
    async def read() -> Iterable[Metric]:
        async with session_factory() as session:
            return await probe(session)

    return read


def gauge(name: str, documentation: str, labels: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> Metric:
    """A gauge family from `(label values..., value)` rows."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for *label_values, value in rows:
        family.add_metric([str(v) for v in label_values], float(value or 0))
    return family


def histogram(name: str, documentation: str, values: Iterable[float], buckets: Sequence[float]) -> Metric:
    """A histogram family computed from all the observations there are (for figures kept in a database)."""
    observed = sorted(values)
    cumulative = [(str(bound), sum(1 for v in observed if v <= bound)) for bound in buckets]
    cumulative.append(("+Inf", len(observed)))
    family = HistogramMetricFamily(name, documentation)
    family.add_metric([], cumulative, sum_value=sum(observed))
    return family


async def count_by(session: AsyncSession, table: Table, *columns: str) -> list[tuple[Any, ...]]:
    """`(value of each column..., count)` rows: the usual shape of a KPI gauge."""
    grouped = [table.c[name] for name in columns]
    return [tuple(row) for row in (await session.execute(select(*grouped, func.count()).group_by(*grouped))).all()]


def seconds_since(moment: datetime | None) -> float:
    return 0.0 if moment is None else max(0.0, (utcnow() - moment).total_seconds())


@dataclass
class MessagingMetrics:
    """The messaging kit's own counters, in the service's registry (the relay and the consumers call them)."""

    registry: CollectorRegistry
    published: Counter = field(init=False)
    publish_failures: Counter = field(init=False)
    dead_lettered: Counter = field(init=False)

    def __post_init__(self) -> None:
        self.published = Counter(
            "meetmalmo_outbox_published", "Outbox rows the relay published", ["topic"], registry=self.registry
        )
        self.publish_failures = Counter(
            "meetmalmo_outbox_publish_failures", "Relay batches that failed to publish", registry=self.registry
        )
        self.dead_lettered = Counter(
            "meetmalmo_events_dead_lettered",
            "Events a consumer sent to the dead-letter topic",
            ["consumer", "topic"],
            registry=self.registry,
        )

    def relay_published(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self.published.labels(topic).inc()

    def relay_failed(self) -> None:
        self.publish_failures.inc()

    def event_dead_lettered(self, consumer: str, topic: str) -> None:
        self.dead_lettered.labels(consumer, topic).inc()


NO_MESSAGING_METRICS = MessagingMetrics(CollectorRegistry(auto_describe=False))
"""What a relay or consumer built outside a service (tests) counts into: a registry nobody serves."""


def outbox_probe(session_factory: async_sessionmaker[AsyncSession], outbox: Table) -> Probe:
    """Unsent rows and the age of the oldest: events waiting to reach Kafka."""

    async def read(session: AsyncSession) -> Iterable[Metric]:
        waiting = outbox.c.published_at.is_(None) & outbox.c.quarantined_at.is_(None)
        pending, oldest = (
            await session.execute(select(func.count(), func.min(outbox.c.created_at)).where(waiting))
        ).one()
        quarantined = await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.quarantined_at.is_not(None))
        )
        if isinstance(oldest, datetime) and oldest.tzinfo is None:  # SQLite keeps naive UTC
            oldest = oldest.replace(tzinfo=UTC)
        return [
            gauge("meetmalmo_outbox_pending_rows", "Outbox rows not yet published", [], [(pending,)]),
            gauge(
                "meetmalmo_outbox_quarantined_rows",
                "Outbox rows the broker can never take (too large, topic refused): alert, see outbox.failure",
                [],
                [(quarantined or 0,)],
            ),
            gauge(
                "meetmalmo_outbox_oldest_unsent_age_seconds",
                "Age of the oldest outbox row not yet published (0 when none waits)",
                [],
                [(seconds_since(oldest),)],
            ),
        ]

    return session_probe(session_factory, read)


def tasks_probe(tasks: Callable[[], Iterable[tuple[str, bool]]]) -> Probe:
    """1 for each background task (relay, sender, sweeps, consumers) that runs or has done its work, 0 for one
    that died (failed or cancelled while the service runs)."""

    async def read() -> Iterable[Metric]:
        return [
            gauge(
                "meetmalmo_background_task_up",
                "Whether the background task runs or has done its work (1), or died (0)",
                ["task"],
                list(tasks()),
            )
        ]

    return read


def readiness_probe(readiness: Callable[[], Awaitable[dict[str, bool]]]) -> Probe:
    """What /readyz checks, one gauge per check (1 passes, 0 fails): readiness Prometheus can alert on."""

    async def read() -> Iterable[Metric]:
        checks = await readiness()
        return [
            gauge(
                "meetmalmo_ready", "Whether the service is ready (every check passes)", [], [(all(checks.values()),)]
            ),
            gauge("meetmalmo_readiness_check", "Each readiness check: 1 passes, 0 fails", ["check"], checks.items()),
        ]

    return read


class KafkaLagProbe:
    """Consumer lag per group, topic and partition (committed offset against the end offset), named like
    kafka_exporter's so standard dashboards work, and the messages waiting in each dead-letter topic."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._groups: dict[str, list[str]] = {}
        self._dead_letter_topics: list[str] = []
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None

    def watch_group(self, group: str, topics: Iterable[str]) -> None:
        self._groups.setdefault(group, []).extend(topics)

    def watch_dead_letters(self, topics: Iterable[str]) -> None:
        self._dead_letter_topics.extend(topics)

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._offsets is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, request_timeout_ms=5_000)
            offsets = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None, enable_auto_commit=False)
            try:
                await admin.start()
                await offsets.start()
            except Exception:
                await admin.close()
                await offsets.stop()
                raise
            self._admin, self._offsets = admin, offsets
        return self._admin, self._offsets

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
        if self._offsets is not None:
            await self._offsets.stop()
        self._admin = self._offsets = None

    async def _partitions(self, consumer: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
        # Fresh metadata (topics created since the last scrape). consumer.topics() fetches it without
        # updating the cluster view that partitions_for_topic reads, so the client is asked directly.
        await consumer._client.force_metadata_update()
        found: list[TopicPartition] = []
        for topic in dict.fromkeys(topics):
            found.extend(TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ()))
        return found

    async def __call__(self) -> Iterable[Metric]:
        try:
            return await self._read()
        except Exception:
            await self.close()  # a fresh connection at the next scrape
            raise

    async def _read(self) -> Iterable[Metric]:
        admin, consumer = await self._clients()
        lag = GaugeMetricFamily(
            "kafka_consumergroup_lag",
            "Messages the group has still to process",
            labels=["consumergroup", "topic", "partition"],
        )
        current = GaugeMetricFamily(
            "kafka_consumergroup_current_offset",
            "The group's committed offset",
            labels=["consumergroup", "topic", "partition"],
        )
        end = GaugeMetricFamily(
            "kafka_topic_partition_current_offset", "The partition's end offset", labels=["topic", "partition"]
        )
        all_topics = [topic for topics in self._groups.values() for topic in topics]
        partitions = await self._partitions(consumer, [*all_topics, *self._dead_letter_topics])
        ends = await consumer.end_offsets(partitions) if partitions else {}
        for tp in partitions:
            if tp.topic in all_topics:
                end.add_metric([tp.topic, str(tp.partition)], ends[tp])
        for group, topics in self._groups.items():
            committed = await admin.list_consumer_group_offsets(group)
            for tp in partitions:
                if tp.topic not in topics:
                    continue
                offset = committed.get(tp)
                position = offset.offset if offset is not None and offset.offset >= 0 else 0
                labels = [group, tp.topic, str(tp.partition)]
                current.add_metric(labels, position)
                lag.add_metric(labels, max(0, ends[tp] - position))
        waiting = GaugeMetricFamily(
            "meetmalmo_dead_letter_messages",
            "Messages in the dead-letter topic (since its retention)",
            labels=["topic"],
        )
        dead = [tp for tp in partitions if tp.topic in self._dead_letter_topics]
        starts = await consumer.beginning_offsets(dead) if dead else {}
        for topic in dict.fromkeys(self._dead_letter_topics):
            waiting.add_metric([topic], sum(ends[tp] - starts[tp] for tp in dead if tp.topic == topic))
        return [lag, current, end, waiting]


class Stopwatch:
    """Times a block into a histogram with an outcome label (`ok` or the exception's type)."""

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram

    @contextlib.asynccontextmanager
    async def timing(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        outcome = "ok"
        try:
            yield
        except BaseException as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self._histogram.labels(outcome).observe(time.perf_counter() - started)
