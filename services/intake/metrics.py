"""What intake's /metrics shows of its data, read at scrape time: initiatives by status, and how long an
initiative takes from submission to a formed working group."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.db.tables import initiative_history, initiatives
from services.intake.domain.initiative import Status
from shared.metrics import count_by, gauge, histogram

HOUR, DAY = 3600.0, 86400.0
FORMATION_BUCKETS = (HOUR, 6 * HOUR, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 60 * DAY, 90 * DAY)


async def kpis(session: AsyncSession) -> Iterable[Metric]:
    counts = dict(await count_by(session, initiatives, "status"))
    formed = (
        await session.execute(
            select(initiatives.c.submitted_at, initiative_history.c.at)
            .join(initiative_history, initiative_history.c.initiative_id == initiatives.c.id)
            .where(initiative_history.c.to_status == Status.GROUP_FORMED.value)
        )
    ).all()
    return [
        gauge(
            "meetmalmo_initiatives",
            "Initiatives by status",
            ["status"],
            [(status.value, counts.get(status.value, 0)) for status in Status],
        ),
        histogram(
            "meetmalmo_initiative_submission_to_group_formed_seconds",
            "Time from an initiative's submission to its working group formed",
            [(at - submitted).total_seconds() for submitted, at in formed],
            FORMATION_BUCKETS,
        ),
    ]
