"""The platform on its embedded default, SQLite (what `make run` uses): the journey's critical steps, from
people joining and a submission through acceptance and the proposed group to the formed group's emails,
each email received exactly once. The steps are the journey's own (tests/test_platform_journey.py); only
the databases differ: one SQLite file per service, migrated as `meetmalmo migrate` does. And erasure there
reaches below SQL: no database file (nor its write-ahead log) keeps the erased person's bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shared.migrations import upgrade
from shared.testing import SERVICES, eventually, files_mentioning, links_in, query_value, running_services
from tests.test_platform_journey import (
    COORDINATORS,
    DANA,
    ERIK,
    SECRET,
    WAIT,
    WEB,
    Platform,
    a_coordinator_accepts_and_matching_proposes_a_group,
    every_email_arrived_exactly_once,
    everyone_hears_that_the_group_is_formed,
    people_join_the_pool,
    the_coordinator_confirms_and_the_members_answer,
    the_portal_submits_an_initiative,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def platform(tmp_path: Path, kafka_bootstrap: str, topic_namespace: str) -> AsyncIterator[Platform]:
    databases = {name: f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}" for name in SERVICES}
    for name, url in databases.items():
        await asyncio.to_thread(upgrade, name, url)
    with running_services(
        databases, kafka_bootstrap, topic_namespace, secret=SECRET, web_public_url=WEB, coordinators=COORDINATORS
    ) as services:
        async with httpx.AsyncClient(follow_redirects=True, timeout=10.0) as browser:
            yield Platform(
                **services.api, mailbox=services.mailbox, matching_database=databases["matching"], browser=browser
            )


async def test_on_sqlite_an_initiative_becomes_a_formed_group_with_every_email_sent_once(platform: Platform) -> None:
    ids = await people_join_the_pool(platform)
    await eventually(lambda: platform.matching_knows(len(ids)), timeout=WAIT)

    initiative = await the_portal_submits_an_initiative(platform)
    group = await a_coordinator_accepts_and_matching_proposes_a_group(platform, initiative, ids)
    await the_coordinator_confirms_and_the_members_answer(platform, initiative, group, ids)
    await everyone_hears_that_the_group_is_formed(platform, initiative, group)

    await every_email_arrived_exactly_once(platform)


async def test_on_sqlite_an_erased_person_is_left_in_no_database_file_nor_its_write_ahead_log(
    platform: Platform, tmp_path: Path
) -> None:
    ids = await people_join_the_pool(platform)
    await eventually(lambda: platform.matching_knows(len(ids)), timeout=WAIT)
    welcome = await platform.mailbox.one(DANA.email, "Välkommen till Meet Malmö")
    held = files_mentioning(tmp_path, DANA.name, DANA.email)
    assert {"resources.db", "matching.db"} & {name.removesuffix("-wal") for name in held}, held  # she is on disk

    (profile_link,) = {link for link in links_in(welcome) if "/my/profile/" in link}
    erased = await platform.browser.delete(f"{platform.resources}/api/v1/my/profile/{profile_link.rsplit('/', 1)[1]}")
    assert erased.status_code == 204, erased.text
    for service in ("matching", "notifications"):  # both consumed ResourceErased
        url = f"sqlite+aiosqlite:///{tmp_path / f'{service}.db'}"
        sql = f"SELECT count(*) FROM erased_subjects WHERE subject_id = '{ids[DANA.email].replace('-', '')}'"  # noqa: S608

        async def remembered(url: str = url, sql: str = sql) -> bool:
            return bool(await query_value(url, sql) == 1)

        await eventually(remembered, timeout=WAIT)

    async def gone() -> bool:
        return not files_mentioning(tmp_path, DANA.name, DANA.email)

    await eventually(gone, timeout=WAIT)
    assert files_mentioning(tmp_path, DANA.name, DANA.email) == {}
    assert "matching.db" in {  # the others are all still there
        name.removesuffix("-wal") for name in files_mentioning(tmp_path, ERIK.name)
    }
