"""What intake keeps only for a while: Idempotency-Keys (each remembered receipt shows the contact)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.intake.handlers import PurgeIdempotencyKeys
from services.intake.tests.factories import valid_initiative

from ..conftest import Intake

pytestmark = pytest.mark.integration


async def test_idempotency_keys_older_than_the_retention_are_forgotten_and_younger_ones_still_answer(
    intake: Intake,
) -> None:
    old, young = {"Idempotency-Key": "portal-old"}, {"Idempotency-Key": "portal-young"}
    other = valid_initiative(title="Ett annat initiativ")
    first = await intake.client.post("/api/v1/initiatives", json=valid_initiative(), headers=old)
    await intake.client.post("/api/v1/initiatives", json=other, headers=young)
    await intake.execute("UPDATE idempotency_keys SET created_at = now() - interval '4 days' WHERE key = 'portal-old'")

    app = intake.client._transport.app  # type: ignore[attr-defined]  # the app behind the ASGI transport
    purged = await app.state.bus.handle(PurgeIdempotencyKeys(keep=timedelta(hours=72)))

    assert purged == 1
    assert await intake.scalars("SELECT key FROM idempotency_keys") == ["portal-young"]
    replayed = await intake.client.post("/api/v1/initiatives", json=other, headers=young)
    assert first.status_code == replayed.status_code == 201
    assert replayed.headers.get("Idempotent-Replayed") == "true"
