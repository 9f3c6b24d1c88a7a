"""The SMTP server refuses, then times out after DATA: no email lost, none sent twice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.faults.infrastructure import OwnKafka, OwnPostgres
from tests.faults.platform import SMTP_TIMEOUT, Load, Platform
from tests.faults.scenario import SUBMISSIONS, created_at_least, run, the_pool, the_rest_of_the_journey, when

pytestmark = pytest.mark.integration


async def test_smtp_refuses_then_times_out_after_data(
    own_kafka: OwnKafka, own_postgres: OwnPostgres, topics_cleaned: list[str]
) -> None:
    """The SMTP server is away (connections refused), then there but busy (451 to MAIL FROM): 16 s in all,
    30 times the sender's capped backoff (0.5 s), which stands for an outage of hours at the default cap. Then
    it takes the emails but holds its reply to DATA beyond the client's timeout for a few seconds: those
    emails reached it once, and their outcome is unknown to the sender, which must not send them again."""

    async def scenario(platform: Platform, load: Load) -> None:
        await the_pool(load)
        smtp, mailbox = platform.smtp, platform.mailbox

        async def smtp_misbehaves() -> None:
            await when(created_at_least(load, 5))
            await asyncio.to_thread(smtp.close)
            load.ledger.faults.append("SMTP refusing connections for 8 s")
            await asyncio.sleep(8)
            mailbox.busy = True
            await asyncio.to_thread(smtp.open)
            load.ledger.faults.append("SMTP answering 451 for 8 s")
            await asyncio.sleep(8)
            mailbox.busy = False
            mailbox.hold_after_data = SMTP_TIMEOUT * 3
            await asyncio.sleep(SMTP_TIMEOUT * 2)
            mailbox.hold_after_data = 0.0
            load.ledger.faults.append(
                f"SMTP held its reply after DATA for {len(mailbox.held)} emails; {mailbox.refused_mail_from} "
                "MAIL FROM refused with 451"
            )

        async def submissions_while_smtp_misbehaves() -> list[Any]:
            first = await load.submit(SUBMISSIONS // 2)
            await asyncio.sleep(6)
            return first + await load.submit(SUBMISSIONS - SUBMISSIONS // 2)

        submitted, _ = await asyncio.gather(submissions_while_smtp_misbehaves(), smtp_misbehaves())
        await the_rest_of_the_journey(load, submitted)

    await run("smtp-refuses-then-times-out", own_kafka, own_postgres, topics_cleaned, scenario)


# Poison: what each consumer that meets it must dead-letter (topic -> consumer groups subscribed to it).
