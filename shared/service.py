"""What every service process is made of, wired once: database, outbox relay, broker, HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Literal, TypeVar

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import TokenVerifier
from shared.broker import connect_with_retry, create_broker, publisher, subscribe, subscriber_is_consuming
from shared.contracts import Event, Topic, dead_letter_topic
from shared.db import create_engine, database_is_reachable
from shared.errors import InvalidTransition, NotFound
from shared.inbox import IdempotentConsumer, purge_processed_events
from shared.jobs import Backoff, PeriodicJob, Supervisor
from shared.links import ExpiredLink, ReplacedLink
from shared.logs import BROKER_OUTAGE, configure_logging
from shared.messagebus import Handler, MessageBus
from shared.metrics import (
    AppMetrics,
    KafkaLagProbe,
    MessagingMetrics,
    SessionProbe,
    outbox_probe,
    readiness_probe,
    session_probe,
    tasks_probe,
)
from shared.openapi import document_errors
from shared.outages import OUTAGE_ERRORS, OUTAGE_RETRY_AFTER_SECONDS, describe_error, is_infrastructure_error
from shared.outbox import Outbox, OutboxRelay
from shared.ratelimit import TABLE as RATE_LIMIT_TABLE
from shared.ratelimit import RateLimiter
from shared.settings import ServiceSettings, refuse_weak_secrets
from shared.tracing import NATIVE_TELEMETRY_OFF, configure_tracing
from shared.unit_of_work import UnitOfWork
from shared.web import BodySizeLimit, Edge

log = structlog.get_logger(__name__)
STOP_SECONDS = 10.0
"""How long stopping waits for the broker client before it lets go (a pod's grace period is 30 s)."""


async def _stop_within(seconds: float, stop: Callable[[], Awaitable[None]], *, part: str) -> None:
    try:
        async with asyncio.timeout(seconds):
            await stop()
    except TimeoutError:
        log.warning("service.stop_abandoned", part=part, after_seconds=seconds)


U = TypeVar("U", bound=UnitOfWork)


Subscriptions = Mapping[str, Mapping[type[Event], Handler]]
"""topic -> event type -> handler `(event, uow, envelope, *dependencies)`: what one consumer group applies."""


@dataclass
class Infrastructure:
    """The parts a service's composition root wires its own use cases onto."""

    settings: ServiceSettings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    metadata: MetaData
    outbox: Outbox
    relay: OutboxRelay
    broker: KafkaBroker
    consumers: list[IdempotentConsumer[Any]] = field(default_factory=list)
    jobs: list[PeriodicJob] = field(default_factory=list)
    metrics: AppMetrics = field(init=False)
    messaging: MessagingMetrics = field(init=False)
    lag: KafkaLagProbe = field(init=False)
    # consumer group id -> (its subscriber, the physical topics it reads)
    groups: dict[str, tuple[Any, list[str]]] = field(default_factory=dict)
    supervisor: Supervisor = field(default_factory=Supervisor)
    # consumer group id -> why it does not consume (its committed offsets fell out of retention)
    out_of_retention: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: ServiceSettings, metadata: MetaData) -> Infrastructure:
        """`metadata` holds the service's tables, among them `outbox` and `processed_events`."""
        engine = create_engine(settings.resolved_database_url())
        session_factory = async_sessionmaker(engine, expire_on_commit=False)
        broker = create_broker(settings.platform.kafka_bootstrap, client_id=f"meetmalmo-{settings.service_name}")
        outbox_table = metadata.tables["outbox"]
        relay = OutboxRelay(
            session_factory,
            outbox_table,
            publisher(broker, settings.platform.topic_namespace),
            poll_seconds=settings.platform.outbox_poll_seconds,
        )
        outbox = Outbox(outbox_table, settings.service_name)
        infra = cls(settings, engine, session_factory, metadata, outbox, relay, broker)
        infra._measure()
        return infra

    def _measure(self) -> None:
        """The service's registry: FastStream's message metrics, the relay's and consumers' counters, and
        what is read at scrape time (outbox backlog, background tasks, consumer lag and dead letters)."""
        name, platform = self.settings.service_name, self.settings.platform
        self.metrics = AppMetrics(name)
        self.broker.add_middleware(KafkaPrometheusMiddleware(registry=self.metrics.registry, app_name=name))
        self.messaging = self.relay.metrics = MessagingMetrics(self.metrics.registry)
        self.lag = KafkaLagProbe(platform.kafka_bootstrap)
        self.lag.watch_dead_letters(platform.topic_namespace + dead_letter_topic(topic) for topic in Topic)
        self.metrics.add_probe("outbox", outbox_probe(self.session_factory, self.metadata.tables["outbox"]))
        self.metrics.add_probe("background_tasks", tasks_probe(self.background_tasks))
        self.metrics.add_probe("kafka", self.lag)
        self.metrics.add_probe("readiness", readiness_probe(self.readiness))

    def measure(self, name: str, probe: SessionProbe) -> None:
        """Read `probe` over the service's database at every scrape of /metrics (the KPIs of its data)."""
        self.metrics.add_probe(name, session_probe(self.session_factory, probe))

    def background_tasks(self) -> list[tuple[str, bool]]:
        """(name, running) of each background task and of each consumer's subscriber."""
        tasks = [(name, health.healthy) for name, health in self.supervisor.health.items()]
        for subscriber in self.broker.subscribers:
            alive = bool(subscriber.running) and not any(t.done() for t in getattr(subscriber, "tasks", ()))
            title = subscriber.specification.config.title_ or subscriber.specification.call_name
            tasks.append((f"consumer:{title.split(':')[0]}", alive))
        return tasks

    def consume(
        self,
        name: str,
        subscriptions: Subscriptions,
        bus: MessageBus[U],
        runs: Mapping[type[Event], Handler] | None = None,
    ) -> IdempotentConsumer[U]:
        """Subscribe the idempotent consumer group `name` to the topics of `subscriptions`; `runs` names a run
        handler for event types whose consecutive events in a batch are applied together (see shared.inbox)."""
        platform = self.settings.platform
        handlers = {
            event_type: bus.bind(handler)
            for by_type in subscriptions.values()
            for event_type, handler in by_type.items()
        }
        bound = {handler: bus.bind(handler) for handler in set((runs or {}).values())}  # one per handler: one run
        consumer = IdempotentConsumer(
            name,
            bus.uow_factory,
            self.metadata.tables["processed_events"],
            handlers,
            publisher(self.broker, platform.topic_namespace),
            max_attempts=platform.consumer_max_attempts,
            backoff_seconds=platform.consumer_backoff_seconds,
            outage_backoff=Backoff(min(0.5, platform.consumer_outage_backoff_max_seconds),
                                   platform.consumer_outage_backoff_max_seconds),
            hold_seconds=platform.consumer_hold_seconds,
            runs={event_type: bound[handler] for event_type, handler in (runs or {}).items()},
        )  # fmt: skip
        consumer.metrics = self.messaging
        self.lag.watch_group(platform.topic_namespace + name, (platform.topic_namespace + t for t in subscriptions))
        self.consumers.append(consumer)
        subscriber = subscribe(
            self.broker,
            consumer,
            subscriptions,
            platform.topic_namespace,
            max_poll_interval_seconds=platform.consumer_max_poll_interval_seconds,
            batch_size=platform.consumer_batch_size,
            batch_wait_ms=platform.consumer_batch_wait_ms,
        )
        self.groups[platform.topic_namespace + name] = (
            subscriber,
            [platform.topic_namespace + topic for topic in subscriptions],
        )
        return consumer

    def run(self, job: PeriodicJob) -> PeriodicJob:
        """Run the job (a sender, a sweep) while the service runs; it is cancelled at exit."""
        self.jobs.append(job)
        return job

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Connect to Kafka (retrying in the background), run the outbox relay and background loops until
        exit, each supervised: a task that dies is logged, restarted with backoff and shown by readiness."""
        platform = self.settings.platform
        connected = asyncio.Event()
        supervisor = self.supervisor
        supervisor.start(
            "broker-connect",
            lambda: connect_with_retry(self.broker, platform, self.groups, connected, self.out_of_retention),
            forever=False,
        )
        supervisor.start("outbox-relay", lambda: self._relay_when(connected))
        supervisor.start("broker-watch", self._watch_broker_outage)
        if self.consumers:
            purge = PeriodicJob(
                "purge-processed-events",
                lambda: purge_processed_events(
                    self.session_factory,
                    self.metadata.tables["processed_events"],
                    timedelta(days=platform.processed_events_retention_days),
                ),
                interval=3600.0,
                first_after=60.0,
            )
            supervisor.start(purge.name, purge.run)
        for job in self.jobs:
            supervisor.start(job.name, job.run)
        try:
            yield
        finally:
            await supervisor.stop()
            await self.lag.close()
            # aiokafka's stop waits for batches it holds to be delivered, forever while the broker is away;
            # their outbox rows are unmarked, so the next start publishes them (consumers are idempotent).
            await _stop_within(STOP_SECONDS, self.broker.stop, part="broker")
            await self.engine.dispose()

    async def _watch_broker_outage(self, every_seconds: float = 5.0) -> None:
        """While the logs report a broker outage, ask the broker; the first answer ends the outage's report."""
        while True:
            await asyncio.sleep(every_seconds)
            if BROKER_OUTAGE.ongoing and self.broker.running and await self.broker.ping(timeout=2.0):
                BROKER_OUTAGE.ended()

    async def _relay_when(self, connected: asyncio.Event) -> None:
        await connected.wait()
        await self.relay.run()

    async def readiness(self) -> dict[str, bool]:
        """Named checks: the database, the broker, every background task, every consumer group, and
        the outbox (its oldest unpublished row younger than MEETMALMO_OUTBOX_MAX_AGE_SECONDS)."""
        database = await database_is_reachable(self.engine)
        broker = self.broker.running and await self.broker.ping(timeout=2.0)
        checks = {"database": database, "broker": bool(broker)}
        checks |= {f"task:{name}": health.healthy for name, health in self.supervisor.health.items()}
        connected = self.supervisor.health.get("broker-connect")
        for group_id, (subscriber, _) in self.groups.items():
            checks[f"consumer:{group_id}"] = (
                bool(connected and connected.done)
                and group_id not in self.out_of_retention
                and subscriber_is_consuming(subscriber)
            )
        try:
            age = await self.relay.oldest_pending_age()
            checks["outbox"] = age < self.settings.platform.outbox_max_age_seconds
        except Exception:
            checks["outbox"] = False
        return checks

    def task_problems(self) -> dict[str, str]:
        """The last error of each supervised task that is not running, and why a consumer group does not
        consume (for /readyz's answer)."""
        problems = {
            name: health.last_error
            for name, health in self.supervisor.health.items()
            if not health.healthy and health.last_error
        }
        return problems | {f"consumer:{group}": error for group, error in self.out_of_retention.items()}


def create_app(
    infra: Infrastructure,
    *,
    bus: MessageBus[Any],
    title: str,
    description: str,
    routers: Iterable[APIRouter],
    state: Mapping[str, Any] | None = None,
    extra_startup: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    """The service's HTTP app: its routers over the bus, health and readiness, the shared edge.

    `state` names what the routes' dependencies read from `app.state` (links, settings), see `from_state`.
    """
    settings = infra.settings
    refuse_weak_secrets(settings)  # outside local mode, before anything is signed with them
    configure_logging(settings.service_name, settings.platform.log_format, settings.platform.log_level)
    configure_tracing(settings.service_name)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with infra.running():
            if extra_startup is not None:
                await extra_startup()
            log.info("service.started", url=str(settings.public_url))
            yield

    # Swagger UI and ReDoc from the service itself (fastapi-offline bundles them): /docs works offline.
    app = FastAPIOffline(
        title=title, description=description, version="1.0.0", lifespan=lifespan, telemetry=NATIVE_TELEMETRY_OFF
    )
    document_errors(app)
    app.state.infra = infra
    app.state.bus = bus
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings.platform)
    app.state.rate_limiter = RateLimiter(
        settings.public_rate_limit, infra.session_factory, infra.metadata.tables[RATE_LIMIT_TABLE]
    )
    for name, value in (state or {}).items():
        setattr(app.state, name, value)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Content-Type", "Idempotency-Key", "X-Correlation-ID", "Authorization"],
        )

    # Outermost: the correlation id, the server span and the request's figures, in one pure-ASGI layer.
    app.add_middleware(Edge, metrics=infra.metrics.http)

    register_error_handlers(app)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        """Answers 200 while the process runs: for a liveness probe (restart when it stops answering)."""
        return {"status": "ok", "service": settings.service_name}

    @app.get("/readyz", tags=["operations"], summary="Every part works, or (scope=traffic) requests can be served")
    async def readyz(scope: Literal["all", "traffic"] = "all") -> JSONResponse:
        """200 when every check passes (the database, the broker, each background task and consumer group, a
        young outbox), else 503 naming what fails: what an operator, `meetmalmo run` and the console read.

        `scope=traffic` is the load balancer's question (Kubernetes' readiness probe): can this replica answer
        requests? Only the database decides that. While Kafka is away the services keep taking requests (their
        events wait in the outbox and leave when it is back), so a broker outage must not take every replica
        out of service; it stays visible in the full answer, its metric and the ServiceNotReady alert."""
        checks = await infra.readiness()
        ready = checks["database"] if scope == "traffic" else all(checks.values())
        answer: dict[str, Any] = {"ready": ready, "checks": checks}
        if problems := infra.task_problems():
            answer["problems"] = problems
        return JSONResponse(answer, status_code=200 if ready else 503)

    for router in routers:
        app.include_router(router)
    infra.metrics.serve(app)
    return app


def from_state(name: str) -> Callable[[Request], Any]:
    """A dependency that hands a route what the composition root put on `app.state` under `name`."""

    async def dependency(request: Request) -> Any:  # async: FastAPI runs a plain def in a worker thread
        return getattr(request.app.state, name)

    return dependency


BusDep = Annotated[MessageBus[Any], Depends(from_state("bus"))]


def _field_name(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def register_error_handlers(app: FastAPI) -> None:
    """422 names each bad field and why (without echoing the input); 409 gives the current state."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[Mapping[str, Any]] = [
            # Malformed JSON is located by a character offset: the field a person can act on is the body.
            {"field": "body" if err["type"] == "json_invalid" else _field_name(err["loc"]), "reason": err["msg"],
             "type": err["type"]}
            for err in exc.errors()
        ]  # fmt: skip
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    @app.exception_handler(InvalidTransition)
    async def conflict(_: Request, exc: InvalidTransition) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "current_status": exc.current_status, "action": exc.action}, status_code=409
        )

    @app.exception_handler(ExpiredLink)
    async def expired_link(_: Request, exc: ExpiredLink) -> JSONResponse:
        # A genuine but old (or superseded) private link: 410, so the web's page can say so (a forged one stays 404).
        replaced = isinstance(exc, ReplacedLink)
        return JSONResponse(
            {"detail": str(exc), "state": "replaced" if replaced else "expired"},
            status_code=410,
            headers={"Cache-Control": "private, no-store"},
        )

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    async def dependency_away(request: Request, exc: Exception) -> JSONResponse:
        # The database (or the broker) is away for a moment: 503 with Retry-After, which the client and the web
        # can act on, and one warning without a traceback; any other error of these kinds is a bug and stays a 500.
        if not is_infrastructure_error(exc):
            raise exc
        log.warning("http.dependency_unavailable", method=request.method, error=describe_error(exc))
        return JSONResponse(
            {"detail": "a service this request needs is unavailable for a moment; try again shortly"},
            status_code=503,
            headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
        )

    for kind in OUTAGE_ERRORS:
        app.add_exception_handler(kind, dependency_away)
