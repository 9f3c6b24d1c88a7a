"""What resources' /metrics shows of its data, read at scrape time: people by organisation type and status."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric
from sqlalchemy.ext.asyncio import AsyncSession

from services.resources.db.tables import resources
from shared.metrics import count_by, gauge


async def kpis(session: AsyncSession) -> Iterable[Metric]:
    return [
        gauge(
            "meetmalmo_resources",
            "Resources (people in the pool) by organisation type and status",
            ["organisation_type", "status"],
            await count_by(session, resources, "organisation_type", "status"),
        )
    ]
