"""Intake's OpenAPI document as a portal developer reads it: the submission example is a complete, valid
initiative (posted exactly as documented, it is accepted), every request example passes its model, and
every field of the submission says what goes in it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake import schemas
from services.intake.bootstrap import create_app
from services.intake.settings import Settings
from services.intake.tests.unit.fakes import FakeUnitOfWork
from shared.messagebus import MessageBus
from shared.settings import PlatformSettings
from shared.testing import staff_headers

SUBMISSION_PARTS = ("InitiativeCreate", "OriginatorIn", "GroupSize")
SECRET = "api-document-tests-secret-of-32-characters"


@pytest.fixture
def app(bus: MessageBus[FakeUnitOfWork]) -> FastAPI:
    """Intake's app with its handlers over the fake unit of work: no database, no broker."""
    platform = PlatformSettings(kafka_bootstrap="127.0.0.1:1", auth_jwt_secret=SECRET)
    settings = Settings(database_url="sqlite+aiosqlite://", platform=platform)
    app = create_app(settings)
    app.state.bus = bus
    return app


def request_schema(document: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The name and schema of the operation's JSON body, from the document's components."""
    ref = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[-1]
    return name, document["components"]["schemas"][name]


async def test_the_documented_submission_example_is_accepted_as_it_stands(app: FastAPI, uow: FakeUnitOfWork) -> None:
    _, schema = request_schema(app.openapi(), "post", "/api/v1/initiatives")
    (example,) = schema["examples"]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake.test") as client:
        answer = await client.post("/api/v1/initiatives", json=example)

    assert answer.status_code == 201, answer.text
    stored = uow.stored.initiatives[uuid.UUID(answer.json()["id"])]
    assert stored.originator.organisation_number == "556036-0793"
    assert stored.originator.contact_phone == "+46701234567"
    assert [type(e).__name__ for e in uow.stored.events] == ["InitiativeSubmitted"]


def test_the_submission_example_fills_in_every_field_intake_accepts(app: FastAPI) -> None:
    document = app.openapi()
    components = document["components"]["schemas"]
    name, schema = request_schema(document, "post", "/api/v1/initiatives")
    (example,) = schema["examples"]

    assert name == "InitiativeCreate"
    assert set(example) == set(schema["properties"])
    assert set(example["originator"]) == set(components["OriginatorIn"]["properties"])
    assert set(example["group_size"]) == set(components["GroupSize"]["properties"])
    assert all(example["originator"].values())  # the optional organisation number and phone too


def test_every_field_of_the_submission_says_what_a_portal_puts_there(app: FastAPI) -> None:
    components = app.openapi()["components"]["schemas"]
    undescribed = [
        f"{part}.{field}"
        for part in SUBMISSION_PARTS
        for field, schema in components[part]["properties"].items()
        if len(schema.get("description", "")) < 20
    ]
    assert undescribed == []


def test_every_request_body_has_an_example_that_its_model_accepts(app: FastAPI) -> None:
    document = app.openapi()
    operations = [(method, path) for path, item in document["paths"].items() for method in item]
    bodies = {
        request_schema(document, method, path)[0]
        for method, path in operations
        if "requestBody" in document["paths"][path][method]
    }
    assert bodies == {
        "InitiativeCreate", "Rejection", "InformationRequest", "Answer", "Withdrawal", "LeadAssignment", "NoteIn",
        "StatusLinkRequest",
    }  # fmt: skip
    for name in sorted(bodies):
        examples = document["components"]["schemas"][name]["examples"]
        assert examples, name
        for example in examples:
            getattr(schemas, name).model_validate(example)


def test_the_new_staff_routes_are_described_with_the_shared_error_bodies(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path, code in [
        ("/api/v1/initiatives/on-behalf", "409"),
        ("/api/v1/initiatives/{initiative_id}/lead", "404"),
        ("/api/v1/initiatives/{initiative_id}/notes", "404"),
    ]:
        operation = paths[path]["post"]
        assert operation["summary"] and len(operation["description"]) > 80, path
        assert {"401", "403", "413", "422", code} <= set(operation["responses"]), path
        schema = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        assert schema.rsplit("/", 1)[-1] in {"Problem", "ConflictProblem"}


async def test_a_coordinator_registers_the_documented_example_on_the_originators_behalf(
    app: FastAPI, uow: FakeUnitOfWork
) -> None:
    _, schema = request_schema(app.openapi(), "post", "/api/v1/initiatives/on-behalf")
    (example,) = schema["examples"]
    coordinator = staff_headers(SECRET, "coordinator", "eva.coordinator@malmo.se")
    operator = staff_headers(SECRET, "operator", "olle@malmo.se")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake.test") as client:
        refused = await client.post("/api/v1/initiatives/on-behalf", json=example, headers=operator)
        answer = await client.post("/api/v1/initiatives/on-behalf", json=example, headers=coordinator)

    assert refused.status_code == 403
    assert answer.status_code == 201, answer.text
    stored = uow.stored.initiatives[uuid.UUID(answer.json()["id"])]
    assert (stored.channel.value, stored.registered_by) == ("meeting", "eva.coordinator@malmo.se")
    (submitted,) = uow.stored.events
    assert submitted.model_dump()["channel"] == "meeting" and submitted.model_dump()["status_url"]
