"""Background work, written once: a job that runs periodically (or when woken) and backs off while
what it needs is away, and a call retried until it succeeds. Every service loop is one of these."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import structlog

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
            log.warning(f"{what}_failed", error_type=type(exc).__name__, error=str(exc)[:200], retry_in=delay)
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
                log.warning("job.failed", job=self.name, error_type=type(exc).__name__, retry_in=delay)
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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
