"""A periodic job stops when its task is cancelled, also when a wake-up arrives in the same instant.

Python 3.11's asyncio.wait_for returns the inner result and drops a cancellation that races with it
finishing; a job pausing through it then ran on forever and a service's shutdown waited on it for good.
"""

from __future__ import annotations

import asyncio

from shared.jobs import PeriodicJob


async def test_a_job_woken_as_it_is_cancelled_stops() -> None:
    rounds = 0
    first_round = asyncio.Event()

    async def step() -> None:
        nonlocal rounds
        rounds += 1
        first_round.set()

    job = PeriodicJob("test-job", step, interval=60.0)
    task = asyncio.create_task(job.run())
    await first_round.wait()
    await asyncio.sleep(0)  # now pausing until woken
    job.wake()
    await asyncio.sleep(0)  # the wake-up's wait has finished (under wait_for the job has not resumed yet)
    task.cancel()
    rounds_when_cancelled = rounds
    for _ in range(20):
        await asyncio.sleep(0)
    assert task.cancelled()
    assert rounds == rounds_when_cancelled
