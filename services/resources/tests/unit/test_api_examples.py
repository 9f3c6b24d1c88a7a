"""The request examples in the OpenAPI document are requests the service accepts, answered with the
documented success status and body: a portal developer can copy them. The app runs over the fake unit of
work (no database, no broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from services.resources.bootstrap import create_app
from services.resources.settings import Settings
from services.resources.tests.unit.fakes import Registry, fake_registry
from shared.auth import issue_local_token
from shared.settings import PlatformSettings

PLATFORM = PlatformSettings(kafka_bootstrap="127.0.0.1:1", auth_jwt_secret="e" * 40)
COORDINATOR = {"Authorization": "Bearer " + issue_local_token(PLATFORM, email="eva@malmo.se", roles=["coordinator"])}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any], Registry]]:
    """The real app and its document, with the bus over a FakeUnitOfWork (the database file is never opened)."""
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", platform=PLATFORM))
    registry = fake_registry(app.state.links)
    app.state.bus = registry.bus
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client, app.openapi(), registry


def example_of(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    """The one example of the operation's request body, as the document gives it (an optional body is
    `anyOf` the model and null)."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    [ref] = [s["$ref"] for s in schema.get("anyOf", [schema]) if "$ref" in s]
    [example] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]["examples"]
    return example  # type: ignore[no-any-return]


async def send_documented(
    client: httpx.AsyncClient, document: dict[str, Any], method: str, path: str, **parameters: str
) -> httpx.Response:
    """Send the documented example to the operation; assert the documented success status and body."""
    operation = document["paths"][path][method]
    [success] = [code for code in operation["responses"] if code.startswith("2")]
    headers = COORDINATOR if operation.get("security") else {}  # the staff routes' bearer token
    body = example_of(document, operation)
    response = await client.request(method, path.format(**parameters), json=body, headers=headers)
    assert response.status_code == int(success), response.text
    schema = operation["responses"][success]["content"]["application/json"]["schema"]
    jsonschema.validate(response.json(), {**schema, "components": document["components"]})
    return response


async def test_the_registration_example_is_a_complete_self_registration(
    api: tuple[httpx.AsyncClient, dict[str, Any], Registry],
) -> None:
    client, document, registry = api

    receipt = await send_documented(client, document, "post", "/api/v1/resources")

    [resource] = registry.uow.resources.stored.values()
    assert receipt.json() == {"id": str(resource.id), "status": "pending_confirmation"}
    example = example_of(document, document["paths"]["/api/v1/resources"]["post"])
    assert set(example) == set(document["components"]["schemas"]["RegistrationIn"]["properties"])
    assert resource.registered_by == "self"


async def test_the_direct_registration_example_is_a_complete_municipality_employee(
    api: tuple[httpx.AsyncClient, dict[str, Any], Registry],
) -> None:
    client, document, _ = api

    created = (await send_documented(client, document, "post", "/api/v1/resources/direct")).json()

    example = example_of(document, document["paths"]["/api/v1/resources/direct"]["post"])
    assert set(example) == set(document["components"]["schemas"]["ProfileIn"]["properties"])
    assert created["organisation_type"] == "municipality" and created["status"] == "active"
    assert created["registered_by"] == "eva@malmo.se"


async def test_the_withdrawal_example_deactivates_a_resource(
    api: tuple[httpx.AsyncClient, dict[str, Any], Registry],
) -> None:
    client, document, _ = api
    created = (await send_documented(client, document, "post", "/api/v1/resources/direct")).json()

    path = "/api/v1/resources/{resource_id}/deactivate"
    withdrawn = (await send_documented(client, document, "post", path, resource_id=created["id"])).json()

    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawal_reason"] == "Ingen tid i år"
