"""Background work, written once: a job that runs periodically (or when woken) and backs off while
what it needs is away, a call retried until it succeeds, and the supervisor that runs every
background task of a service, restarts one that dies (with backoff, logged) and reports each one's
health to readiness. Every service loop is one of these; none stops silently."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import structlog

from shared.outages import describe_error

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Exponential delays: initial, initial*factor, ... capped at maximum."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


async def retry_until_done(
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    backoff: Backoff = Backoff(),
    after_failure: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """Call `attempt` until it returns, waiting longer after each failure (logged as `<what>_failed`)."""
    delays = backoff.delays()
    while True:
        try:
            return await attempt()
        except Exception as exc:
            delay = next(delays)
            log.warning(f"{what}_failed", error_type=type(exc).__name__, error=describe_error(exc, 200), retry_in=delay)
            if after_failure is not None:
                await after_failure()
            await asyncio.sleep(delay)


@dataclass(frozen=True)
class Pause:
    """What a round returns to choose its own wait before the next round (a wake-up does not shorten it).
    Whatever else a round returns (None, a count) means: after the interval, or when woken."""

    seconds: float


AT_ONCE = Pause(0.0)
Step = Callable[[], Awaitable[object]]


class PeriodicJob:
    """Runs `step` forever (cancel the task to stop). A failing round is logged, the next one waits
    with backoff; a round that succeeds resets the backoff. `wake()` starts the next round at once."""

    def __init__(
        self,
        name: str,
        step: Step,
        *,
        interval: float,
        first_after: float = 0.0,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.name = name
        self._step = step
        self._interval = interval
        self._first_after = first_after
        self._backoff = backoff
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await self._pause(self._first_after)
        delays = self._backoff.delays()
        while True:
            self._wake.clear()
            try:
                again = await self._step()
            except Exception as exc:  # what the step needs is away (database, broker): try again later
                delay = next(delays)
                log.warning(
                    "job.failed", job=self.name, error_type=type(exc).__name__, error=describe_error(exc, 200),
                    retry_in=delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
                continue
            delays = self._backoff.delays()
            if not isinstance(again, Pause):
                await self._pause(self._interval)
            elif again.seconds > 0:
                await asyncio.sleep(again.seconds)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if woken."""
        if seconds <= 0:
            return
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that races with the
        # wake-up finishing, and the job (the outbox relay) then ran on after its task was cancelled.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()


@dataclass
class TaskHealth:
    """What readiness reads of one supervised task."""

    name: str
    running: bool = False
    done: bool = False  # a task that was meant to end (the broker connection) has ended well
    restarts: int = 0
    last_error: str | None = None
    last_error_at: float | None = field(default=None, repr=False)

    @property
    def healthy(self) -> bool:
        return self.done or self.running


class Supervisor:
    """Runs a service's background tasks. A task that raises (or returns when it should run forever) is
    logged at ERROR and started again after a backoff; its health says so meanwhile. `stop()` cancels all."""

    def __init__(self, backoff: Backoff = Backoff(1.0, 60.0)) -> None:
        self._backoff = backoff
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.health: dict[str, TaskHealth] = {}

    def start(self, name: str, work: Callable[[], Awaitable[object]], *, forever: bool = True) -> None:
        """Run `work()` under supervision; `forever=False` for work that ends when done (a connection)."""
        health = self.health[name] = TaskHealth(name)
        self._tasks[name] = asyncio.create_task(self._supervise(health, work, forever), name=name)

    async def _supervise(self, health: TaskHealth, work: Callable[[], Awaitable[object]], forever: bool) -> None:
        delays = self._backoff.delays()
        while True:
            health.running = True
            started = time.monotonic()
            try:
                await work()
            except asyncio.CancelledError:
                health.running = False
                raise
            except Exception as exc:
                health.last_error = f"{type(exc).__name__}: {describe_error(exc, 1000)}"
            else:
                if not forever:
                    health.running, health.done = False, True
                    return
                health.last_error = "returned although it should run until the service stops"
            health.running = False
            health.last_error_at = time.monotonic()
            if time.monotonic() - started > 300:  # it ran well for a while: start the backoff anew
                delays = self._backoff.delays()
            delay = next(delays)
            health.restarts += 1
            log.error(
                "task.died", task=health.name, error=health.last_error, restart_in=delay, restarts=health.restarts
            )
            await asyncio.sleep(delay)
            log.info("task.restarting", task=health.name)

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
