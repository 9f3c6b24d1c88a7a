"""The portal's submission on PostgreSQL stays cheap as the platform grows (issue 12): reference numbers
come from a sequence no transaction waits on, and the duplicate hint is noted after the commit from a
bounded list of candidates (a trigram index), keeping the best few."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest

from services.intake.bootstrap import create_app
from services.intake.db import IntakeUnitOfWork, metadata
from services.intake.domain.duplicates import MAX_DUPLICATE_HINTS
from services.intake.tests.conftest import Intake, intake_settings
from services.intake.tests.factories import valid_initiative
from shared.migrations import upgrade
from shared.service import Infrastructure
from shared.testing import create_database, drop_database, eventually, execute

pytestmark = pytest.mark.integration


async def hints(intake: Intake, initiative_id: str) -> list[str]:
    detail = await intake.client.get(f"/api/v1/initiatives/{initiative_id}", headers=intake.coordinator)
    return [d["reference"] for d in detail.json()["possible_duplicates"]]


async def test_a_submission_is_not_held_up_by_another_one_still_open(intake: Intake) -> None:
    # Before: the year's counter row stayed locked until the first transaction's commit, so every
    # submission (across processes too) waited for the one before it.
    first = await intake.submit()
    year = datetime.now(UTC).year
    infra = Infrastructure.build(intake_settings(intake.database_url, "127.0.0.1:1", "unused."), metadata)
    uow = IntakeUnitOfWork(infra.session_factory, infra.outbox)
    try:
        async with uow:
            held = await uow.initiatives.next_reference_number(year)  # its transaction stays open
            # A deadlock guard, not a speed goal: the old counter made this wait for `held`'s commit forever.
            second = await asyncio.wait_for(intake.submit(), timeout=30)
            third = await asyncio.wait_for(intake.submit(), timeout=30)
    finally:
        await infra.engine.dispose()
    numbers = [int(answer["reference"].rsplit("-", 1)[1]) for answer in (first, second, third)]
    assert numbers == sorted(numbers) and held not in numbers  # unique and rising; an unused `held` is a gap


async def test_references_of_a_new_year_begin_at_one(
    service_database: Callable[[str], Awaitable[str]], kafka_bootstrap: str, topic_namespace: str
) -> None:
    url = await service_database("intake")
    app = create_app(
        intake_settings(url, kafka_bootstrap, topic_namespace), clock=lambda: datetime(2031, 1, 1, tzinfo=UTC)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake.test") as client,
    ):
        answers = await asyncio.gather(
            *(client.post("/api/v1/initiatives", json=valid_initiative(title=f"Idé nummer {n}")) for n in range(5))
        )
    assert sorted(a.json()["reference"] for a in answers) == [f"MM-2031-000{n}" for n in range(1, 6)]


async def test_numbering_goes_on_after_the_counters_of_before_the_sequences(postgres_server: str) -> None:
    year = datetime.now(UTC).year
    url = await create_database(postgres_server, "test_intake")
    try:
        await asyncio.to_thread(upgrade, "intake", url, "0003")
        await execute(url, "INSERT INTO reference_counters VALUES (:year, 41)", year=year)
        await asyncio.to_thread(upgrade, "intake", url)
        infra = Infrastructure.build(intake_settings(url, "127.0.0.1:1", "unused."), metadata)
        uow = IntakeUnitOfWork(infra.session_factory, infra.outbox)
        async with uow:
            assert await uow.initiatives.next_reference_number(year) == 42
        await infra.engine.dispose()
    finally:
        await drop_database(url)


async def test_the_duplicate_hint_comes_after_the_submission_and_keeps_the_best_few(intake: Intake) -> None:
    no_number = {"organisation_number": None}
    originator = {**valid_initiative()["originator"], **no_number}
    first = await intake.submit(title="Solceller på Malmös skolor", summary="Solceller på skolornas tak.",
                                originator=originator)  # fmt: skip
    unrelated = await intake.submit(title="Språkcafé för nyanlända", summary="Samtal på svenska.",
                                    originator=originator)  # fmt: skip
    alike = []
    for n in range(MAX_DUPLICATE_HINTS + 2):
        title = f"Solceller på Malmös skolor {n}"
        alike.append(await intake.submit(title=title, summary="Solceller på skolornas tak.", originator=originator))
    last = await intake.submit(title="Solceller på Malmös skolor", summary="Solceller på skolornas tak.",
                               originator=originator)  # fmt: skip

    async def noted() -> list[str]:
        return await hints(intake, last["id"])

    found = await eventually(noted)
    assert len(found) == MAX_DUPLICATE_HINTS
    assert found[0] == first["reference"], (found, first["reference"])  # the same title first
    assert unrelated["reference"] not in found
    assert await hints(intake, first["id"]) == []  # nothing alike came before it
    await eventually(lambda: hints(intake, alike[0]["id"]))
    assert await hints(intake, alike[0]["id"]) == [first["reference"]]
