"""Unit tests of the cross-cutting set-up: settings, logging, contracts, auth. No I/O."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import jwt
import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.intake.settings import Settings as IntakeSettings
from shared import context
from shared.auth import CoordinatorDep, StaffReaderDep, TokenVerifier, issue_local_token
from shared.contracts import ALL_TOPICS, Envelope, Event, Topic, UnknownEvent, parse_event
from shared.logs import configure_logging
from shared.settings import ConfigError, PlatformSettings, load_settings
from shared.taxonomy import TAXONOMY, Competence, OrganisationType, Theme


class SampleHappened(Event):
    topic: ClassVar[Topic] = Topic.GROUPS
    key_field: ClassVar[str] = "sample_id"
    sample_id: uuid.UUID
    size: int


def test_a_bad_setting_stops_start_up_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_PORT", "not-a-port")
    monkeypatch.setenv("MEETMALMO_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError) as error:
        load_settings(IntakeSettings)
    assert "INTAKE_PORT" in str(error.value) and "MEETMALMO_LOG_FORMAT" in str(error.value)
    with pytest.raises(ConfigError, match="MEETMALMO_LOG_FORMAT"):
        load_settings(PlatformSettings)


def test_the_embedded_database_is_sqlite_under_var_unless_a_url_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(IntakeSettings)
    assert settings.resolved_database_url().startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url().endswith("var/intake.db")
    monkeypatch.setenv("INTAKE_DATABASE_URL", "postgresql+asyncpg://u@h/intake")
    assert load_settings(IntakeSettings).resolved_database_url() == "postgresql+asyncpg://u@h/intake"


def test_envelope_carries_correlation_and_cause_of_the_work_in_progress() -> None:
    token = context.correlation_id.set("corr-1")
    cause = context.causation_id.set("cause-1")
    try:
        envelope = Envelope.wrap(SampleHappened(sample_id=uuid.uuid4(), size=3), producer="intake")
    finally:
        context.correlation_id.reset(token)
        context.causation_id.reset(cause)
    assert (envelope.correlation_id, envelope.causation_id) == ("corr-1", "cause-1")
    assert envelope.event_type == "SampleHappened" and envelope.schema_version == 1
    assert envelope.occurred_at.tzinfo is not None


def test_consumers_tolerate_unknown_fields_but_refuse_a_newer_major_version() -> None:
    sample_id = uuid.uuid4()
    data = {
        "event_id": str(uuid.uuid4()),
        "event_type": "SampleHappened",
        "schema_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "matching",
        "correlation_id": "c",
        "causation_id": None,
        "payload": {"sample_id": str(sample_id), "size": 4, "added_later": True},
        "added_to_envelope_later": 1,
    }
    event = parse_event(Envelope.model_validate(data))
    assert event == SampleHappened(sample_id=sample_id, size=4)
    assert event.key() == str(sample_id)
    with pytest.raises(UnknownEvent):
        parse_event(Envelope.model_validate({**data, "schema_version": 2}))
    with pytest.raises(UnknownEvent):
        parse_event(Envelope.model_validate({**data, "event_type": "NoSuchThing"}))


def test_every_topic_has_a_dead_letter_topic() -> None:
    for topic in Topic:
        assert topic.value in ALL_TOPICS and topic.value + ".dlq" in ALL_TOPICS


def test_log_lines_are_json_and_never_carry_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("intake", "json", "INFO")
    structlog.get_logger("test").info(
        "initiative.submitted",
        contact_email="anna@example.se",
        note="call +46 70 123 45 67 or anna@example.se",
        reference="MM-2026-0001",
    )
    logging.getLogger("plain").warning("mail to bo@example.com failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    text = json.dumps(lines)
    assert "anna@example.se" not in text and "bo@example.com" not in text and "123 45 67" not in text
    assert lines[0]["reference"] == "MM-2026-0001" and lines[0]["service"] == "intake"


def test_the_taxonomy_has_swedish_and_english_labels_for_every_code() -> None:
    assert {label.code for label in TAXONOMY.themes} == {t.value for t in Theme}
    assert {label.code for label in TAXONOMY.organisation_types} == {t.value for t in OrganisationType}
    assert {label.code for label in TAXONOMY.competences} == {c.value for c in Competence}
    assert TAXONOMY.themes[0].sv == "Kompetensförsörjning"
    assert all(label.sv and label.en for label in TAXONOMY.competences)


def staff_app() -> FastAPI:
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(PlatformSettings(auth_jwt_secret="s" * 40))

    @app.post("/decide")
    async def decide(staff: CoordinatorDep) -> dict[str, str | None]:
        return {"email": staff.email}

    @app.get("/read")
    async def read(staff: StaffReaderDep) -> dict[str, str | None]:
        return {"email": staff.email}

    return app


def test_staff_endpoints_answer_401_without_a_valid_token_and_403_without_the_role() -> None:
    settings = PlatformSettings(auth_jwt_secret="s" * 40)
    client = TestClient(staff_app())
    coordinator = issue_local_token(settings, email="eva@malmo.se", roles=["coordinator"])
    operator = issue_local_token(settings, email="ops@malmo.se", roles=["operator"])
    forged = jwt.encode({"sub": "x", "roles": ["coordinator"], "exp": 9999999999}, "another-secret" * 3)

    assert client.post("/decide").status_code == 401
    assert client.post("/decide", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert client.post("/decide", headers={"Authorization": f"Bearer {operator}"}).status_code == 403
    answer = client.post("/decide", headers={"Authorization": f"Bearer {coordinator}"})
    assert answer.status_code == 200 and answer.json() == {"email": "eva@malmo.se"}
    assert client.get("/read", headers={"Authorization": f"Bearer {operator}"}).status_code == 200


def _request(peer: str, forwarded: str | None = None) -> Any:
    from starlette.requests import Request

    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 5000), "headers": headers})


def test_behind_a_trusted_proxy_each_visitor_is_counted_by_their_own_address() -> None:
    from shared.web import client_address

    proxies = ["127.0.0.1", "10.1.0.0/16"]
    assert client_address(_request("127.0.0.1", "203.0.113.5"), proxies) == "203.0.113.5"
    assert client_address(_request("10.1.4.2", "198.51.100.7, 203.0.113.5, 10.1.9.9"), proxies) == "203.0.113.5"
    assert client_address(_request("127.0.0.1"), proxies) == "127.0.0.1"


def test_a_forwarded_for_header_from_anyone_else_is_ignored() -> None:
    from shared.web import client_address

    assert client_address(_request("198.51.100.7", "203.0.113.5"), ["127.0.0.1"]) == "198.51.100.7"


def test_a_trusted_proxy_that_is_not_an_address_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETMALMO_TRUSTED_PROXIES", '["web.internal"]')
    with pytest.raises(ConfigError, match="MEETMALMO_TRUSTED_PROXIES"):
        load_settings(PlatformSettings)
