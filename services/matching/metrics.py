"""What matching's /metrics shows of its data, read at scrape time: working groups by status and how many
ever reached each stage, and the answers to invitations (declines among them)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.db.tables import groups, seats
from services.matching.domain.group import GroupStatus, SeatStatus
from shared.metrics import count_by, gauge


async def kpis(session: AsyncSession) -> Iterable[Metric]:
    by_status = dict(await count_by(session, groups, "status"))
    proposed, confirmed, formed = (
        await session.execute(
            select(func.count(), func.count(groups.c.confirmed_at), func.count(groups.c.formed_at)).select_from(groups)
        )
    ).one()
    seat_counts = dict(await count_by(session, seats, "status"))
    return [
        gauge(
            "meetmalmo_groups",
            "Working groups by status now",
            ["status"],
            [(status.value, by_status.get(status.value, 0)) for status in GroupStatus],
        ),
        gauge(
            "meetmalmo_groups_reached",
            "Working groups that ever reached the stage (proposed, confirmed: invitations out, formed)",
            ["stage"],
            [("proposed", proposed), ("confirmed", confirmed), ("formed", formed)],
        ),
        gauge(
            "meetmalmo_seats",
            "Seats in working groups by status (declined: invitations declined)",
            ["status"],
            [(status.value, seat_counts.get(status.value, 0)) for status in SeatStatus],
        ),
    ]
