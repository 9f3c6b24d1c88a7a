"""Each service's OpenAPI document matches what it really does: every operation described, every
error status a route answers documented, and each documented error body is the one that comes back."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from shared.auth import issue_local_token
from shared.cli import SERVICES
from shared.migrations import upgrade
from shared.settings import PlatformSettings

PLATFORM = PlatformSettings(kafka_bootstrap="127.0.0.1:1", auth_jwt_secret="d" * 40)
COORDINATOR = {"Authorization": "Bearer " + issue_local_token(PLATFORM, email="eva@malmo.se", roles=["coordinator"])}
OPERATOR = {"Authorization": "Bearer " + issue_local_token(PLATFORM, email="olle@malmo.se", roles=["operator"])}
METHODS = {"get", "put", "post", "delete", "patch"}


def app_of(service: str, database: Path) -> FastAPI:
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    return bootstrap.create_app(  # type: ignore[no-any-return]
        bootstrap.Settings(database_url=f"sqlite+aiosqlite:///{database}", platform=PLATFORM)
    )


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("documents")
    return {service: app_of(service, folder / f"{service}.db").openapi() for service in SERVICES}


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_a_summary_and_a_description(service: str, documents: dict[str, dict[str, Any]]) -> None:
    missing = [
        f"{method} {path}"
        for method, path, operation in operations(documents[service])
        if not operation.get("summary") or not operation.get("description")
    ]
    assert missing == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_status_is_documented_with_the_body_the_service_sends(
    service: str, documents: dict[str, dict[str, Any]]
) -> None:
    document = documents[service]
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's default 422 is not what we send
    for method, path, operation in operations(document):
        responses = operation["responses"]
        for status, response in responses.items():
            if status.startswith("4"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[-1] in schemas, f"{method} {path} {status}"
        if "422" in responses:
            assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationProblem")
        if operation.get("security"):
            assert {"401", "403"} <= set(responses), f"{method} {path} is a staff route"


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[dict[str, tuple[httpx.AsyncClient, dict[str, Any]]]]:
    """Each service on a migrated SQLite database, without Kafka (errors need none)."""
    clients: dict[str, tuple[httpx.AsyncClient, dict[str, Any]]] = {}
    for service in SERVICES:
        database = tmp_path / f"{service}.db"
        await asyncio.to_thread(upgrade, service, f"sqlite+aiosqlite:///{database}")
        app = app_of(service, database)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        clients[service] = (client, app.openapi())
    yield clients
    for client, _ in clients.values():
        await client.aclose()


def assert_documented(document: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """The response's status is documented for the operation and its body validates against that schema."""
    operation = document["paths"][path][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {path} answered {response.status_code}, which is not documented"
    schema = documented["content"]["application/json"]["schema"]
    jsonschema.validate(response.json(), {**schema, "components": document["components"]})


INITIATIVE = {
    "title": "Sommarjobb för unga",
    "summary": "Företag erbjuder sommarjobb.",
    "originator": {
        "organisation_name": "Acme Bygg AB",
        "organisation_type": "business",
        "contact_name": "Anna Andersson",
        "contact_email": "anna@acme.example",
    },
    "themes": ["employment"],
    "seeking": ["collaboration_partners"],
    "competences_needed": ["recruitment"],
    "group_size": {"min": 2, "max": 3},
    "consent": True,
}


async def test_the_error_bodies_that_come_back_are_the_documented_ones(
    running: dict[str, tuple[httpx.AsyncClient, dict[str, Any]]],
) -> None:
    intake, intake_doc = running["intake"]
    bad = await intake.post("/api/v1/initiatives", json={**INITIATIVE, "title": ""})
    assert bad.status_code == 422
    assert_documented(intake_doc, "POST", "/api/v1/initiatives", bad)
    malformed = await intake.post(
        "/api/v1/initiatives", content=b'{"title": ', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"] == "body"

    created = await intake.post("/api/v1/initiatives", json=INITIATIVE)
    assert created.status_code == 201
    accept = f"/api/v1/initiatives/{created.json()['id']}/accept"
    assert (await intake.post(accept, headers=COORDINATOR)).status_code == 200
    twice = await intake.post(accept, headers=COORDINATOR)
    assert twice.status_code == 409
    assert_documented(intake_doc, "POST", "/api/v1/initiatives/{initiative_id}/accept", twice)
    assert twice.json()["detail"] == "cannot accept an initiative that is accepted"

    for service, path, probe in [
        ("intake", "/api/v1/initiatives/{initiative_id}", f"/api/v1/initiatives/{uuid.uuid4()}"),
        ("resources", "/api/v1/resources/{resource_id}", f"/api/v1/resources/{uuid.uuid4()}"),
        ("matching", "/api/v1/groups/{group_id}", f"/api/v1/groups/{uuid.uuid4()}"),
    ]:
        client, document = running[service]
        unsigned = await client.get(probe)
        assert unsigned.status_code == 401
        assert_documented(document, "GET", path, unsigned)
        missing = await client.get(probe, headers=COORDINATOR)
        assert missing.status_code == 404
        assert_documented(document, "GET", path, missing)

    notifications, notifications_doc = running["notifications"]
    unsigned = await notifications.get("/api/v1/deliveries")
    assert unsigned.status_code == 401
    assert_documented(notifications_doc, "GET", "/api/v1/deliveries", unsigned)
    forbidden = await intake.post(accept, headers=OPERATOR)
    assert forbidden.status_code == 403
    assert_documented(intake_doc, "POST", "/api/v1/initiatives/{initiative_id}/accept", forbidden)


@pytest.mark.parametrize("service", SERVICES)
async def test_the_api_documentation_pages_work_offline(
    service: str, running: dict[str, tuple[httpx.AsyncClient, dict[str, Any]]]
) -> None:
    client, _ = running[service]
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assert "cdn.jsdelivr" not in html and "fonts.googleapis" not in html
        assert "/static-offline-docs/" in html
    assert (await client.get("/static-offline-docs/swagger-ui-bundle.js")).status_code == 200
