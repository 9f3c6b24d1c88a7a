"""What the resources tests share: a running service on real PostgreSQL and Kafka, and test-data builders."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.resources.db import outbox
from services.resources.domain import Profile
from services.resources.schemas import SELF_REGISTRATION
from services.resources.settings import Settings
from shared.contracts.links import profile_url
from shared.taxonomy import Competence, OrganisationType, Theme
from shared.testing import staff_headers

PUBLIC_URL = "https://resources.meetmalmo.test"
WEB_URL = "https://meetmalmo.test"  # MEETMALMO_WEB_PUBLIC_URL: where the links in the emails open pages


def token_of(link: str, path: str) -> str:
    """The token of a private link (`<web>/<path>/<token>`), for the JSON endpoint behind the web's page."""
    prefix = f"{WEB_URL}/{path}/"
    assert link.startswith(prefix), link
    return link.removeprefix(prefix)


@dataclass
class Clock:
    """The service's clock, which a test may move forward (and must put back)."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @contextmanager
    def later(self, **delta: float) -> Iterator[None]:
        self.offset += timedelta(**delta)
        try:
            yield
        finally:
            self.offset -= timedelta(**delta)


@dataclass
class Service:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    engine: AsyncEngine
    clock: Clock
    namespace: str

    def staff(self, role: str, email: str = "eva.coordinator@malmo.se") -> dict[str, str]:
        return staff_headers(self.settings.platform.auth_jwt_secret, role, email)

    @property
    def coordinator(self) -> dict[str, str]:
        return self.staff("coordinator")

    @property
    def operator(self) -> dict[str, str]:
        return self.staff("operator", email="olle.operator@malmo.se")

    async def events(self, event_type: str | None = None, resource_id: uuid.UUID | str | None = None) -> list[Any]:
        """Envelopes in the outbox, oldest first."""
        query = select(outbox.c.envelope).order_by(outbox.c.id)
        if event_type:
            query = query.where(outbox.c.event_type == event_type)
        if resource_id:
            query = query.where(outbox.c.key == str(resource_id))
        async with self.engine.connect() as connection:
            return [json.loads(row.envelope) for row in await connection.execute(query)]

    async def register(self, **overrides: Any) -> tuple[str, dict[str, Any]]:
        body = registration(**overrides)
        response = await self.client.post("/api/v1/resources", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"], body

    async def confirm_url(self, resource_id: str) -> str:
        """The link in the latest confirmation email for this resource."""
        requested = await self.events("ResourceConfirmationRequested", resource_id)
        return str(requested[-1]["payload"]["confirm_url"])

    def sign_profile_link(self, resource_id: str, version: int) -> str:
        """The profile link as notifications signs it into an email (the events carry only its version)."""
        key = self.settings.platform.profile_link_key
        return profile_url(WEB_URL, key, uuid.UUID(resource_id), version)

    async def profile_url(self, resource_id: str, event_type: str = "ResourceRegistered") -> str:
        """The profile link in the latest email the `event_type` causes, as notifications would sign it."""
        payload = (await self.events(event_type, resource_id))[-1]["payload"]
        assert payload.get("profile_url") is None, "the event carries the link's version, never the link"
        return self.sign_profile_link(resource_id, payload["profile_link_version"])

    async def active_resource(self, **overrides: Any) -> tuple[str, dict[str, Any], str]:
        """Register and confirm; (id, what was sent, private profile link)."""
        resource_id, body = await self.register(**overrides)
        token = token_of(await self.confirm_url(resource_id), "confirm")
        confirmed = await self.client.post(f"/api/v1/confirmations/{token}")
        assert confirmed.status_code == 200, confirmed.text
        return resource_id, body, await self.profile_url(resource_id)

    async def status_of(self, resource_id: str) -> str:
        detail = await self.client.get(f"/api/v1/resources/{resource_id}", headers=self.coordinator)
        assert detail.status_code == 200, detail.text
        return str(detail.json()["status"])


def unique_email(prefix: str = "anna") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.se"


def registration(**overrides: Any) -> dict[str, Any]:
    """The documented self-registration with a fresh email, some values as people type them (the service
    normalises them: +46701234567, 556036-0793, F, en)."""
    typed = {"phone": "070-123 45 67", "organisation_number": "5560360793", "sector": "f", "languages": ["sv", "EN"]}
    return {**copy.deepcopy(SELF_REGISTRATION), "email": unique_email(), **typed, **overrides}


def profile(**overrides: Any) -> dict[str, Any]:
    """A profile as staff and the self-service PUT take it (no consent)."""
    body = registration(**overrides)
    body.pop("consent")
    return body


def a_profile(**changes: object) -> Profile:
    """A domain Profile, as the unit tests build it (`profile()` is the JSON the API takes)."""
    values: dict[str, object] = {
        "name": "Anna Andersson",
        "email": "anna@example.se",
        "organisation_name": "Andersson Bygg AB",
        "organisation_type": OrganisationType.BUSINESS,
        "role_title": "HR-chef",
        "competences": (Competence.RECRUITMENT,),
        "themes": (Theme.COMPETENCE_PROVISION,),
        "languages": ("sv",),
    }
    values.update(changes)
    return Profile(**values)  # type: ignore[arg-type]
