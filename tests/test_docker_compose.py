"""docker-compose.yml and the image cannot run here (no Docker engine); they must still parse and match the code."""

from __future__ import annotations

import http.server
import importlib.util
import re
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from services.intake.settings import Settings as IntakeSettings
from services.matching.settings import Settings as MatchingSettings
from services.notifications.settings import Settings as NotificationsSettings
from services.resources.settings import Settings as ResourcesSettings
from services.web.settings import Settings as WebSettings
from shared.settings import PlatformSettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: dict[str, type[BaseSettings]] = {
    "intake": IntakeSettings,
    "resources": ResourcesSettings,
    "matching": MatchingSettings,
    "notifications": NotificationsSettings,
}
WEB_ADDRESS = "${MEETMALMO_WEB_PUBLIC_URL:-http://localhost:8000}"  # where people open the web
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - inside a container, to be reached from the others


def env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {
        # A field read through an alias (NOTIFICATIONS_FROM: `from` is a Python keyword) is named by it.
        field.validation_alias.upper() if isinstance(field.validation_alias, str) else (prefix + name).upper()
        for name, field in cls.model_fields.items()
        if name != "platform"
    }


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_variable_compose_sets_is_one_the_code_reads() -> None:
    known = env_names(PlatformSettings).union(*(env_names(cls) for cls in (*SETTINGS.values(), WebSettings)))
    known |= {"OTEL_EXPORTER_OTLP_ENDPOINT"}  # read by the OpenTelemetry SDK (shared/tracing.py)
    for name, service in compose()["services"].items():
        if name in SETTINGS or name in {"migrate", "web"}:
            unknown = set(service["environment"]) - known
            assert not unknown, f"{name} sets variables no code reads: {unknown}"


def test_each_service_runs_its_own_process_on_its_own_port_with_its_own_database() -> None:
    services = compose()["services"]
    for name, cls in SETTINGS.items():
        service = services[name]
        port = cls.model_fields["port"].default
        assert service["command"] == ["meetmalmo", "serve", name]
        assert service["ports"] == [f"{port}:{port}"]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["environment"][f"{name.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{name}")
        assert service["environment"]["MEETMALMO_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert service["environment"]["MEETMALMO_WEB_PUBLIC_URL"] == WEB_ADDRESS  # the links in its emails
    init_sql = (ROOT / "deploy/postgres/init-databases.sql").read_text()
    for name in SETTINGS:
        assert f"CREATE DATABASE {name} OWNER {name};" in init_sql


def test_the_web_runs_on_its_port_and_asks_each_service_by_its_compose_name_and_port() -> None:
    services = compose()["services"]
    web = services["web"]
    port = WebSettings.model_fields["port"].default
    assert web["command"] == ["meetmalmo", "serve", "web"]
    assert web["ports"] == [f"{port}:{port}"] == ["8000:8000"]
    assert web["build"]["dockerfile"] == "deploy/Dockerfile"
    assert set(web["depends_on"]) == set(SETTINGS)
    environment = web["environment"]
    assert environment["WEB_HOST"] == EVERY_INTERFACE
    assert environment["WEB_PUBLIC_URL"] == environment["MEETMALMO_WEB_PUBLIC_URL"] == WEB_ADDRESS
    for name, cls in SETTINGS.items():
        assert environment[f"WEB_{name.upper()}_URL"] == f"http://{name}:{cls.model_fields['port'].default}"
        assert services[name]["environment"][f"{name.upper()}_HOST"] == EVERY_INTERFACE  # the web reaches it
    # Production mode: staff sign in at the identity provider, whose tokens every service checks alike.
    for name in (*SETTINGS, "web"):
        assert services[name]["environment"]["MEETMALMO_ENVIRONMENT"] == "production"
        for variable in ("MEETMALMO_AUTH_JWKS_URL", "MEETMALMO_AUTH_ISSUER", "MEETMALMO_AUTH_AUDIENCE"):
            assert services[name]["environment"][variable].startswith(f"${{{variable}:?"), (name, variable)
    # No secret has a default: Compose stops when one is unset (the services refuse weak ones themselves).
    required = {"WEB_SESSION_SECRET": environment} | {
        f"{name.upper()}_LINK_SECRET": services[name]["environment"] for name in SETTINGS
    }
    for variable, values in required.items():
        assert values[variable].startswith(f"${{{variable}:?"), variable
    # The profile link's key: resources verifies the link, notifications signs it at send time; nobody else has it.
    profile_link = "MEETMALMO_PROFILE_LINK_SECRET"
    for name in (*SETTINGS, "web"):
        value = services[name]["environment"].get(profile_link)
        if name in {"resources", "notifications"}:
            assert value is not None and value.startswith(f"${{{profile_link}:?"), name
        else:
            assert value is None, name
    assert "MEETMALMO_AUTH_JWT_SECRET" not in str(compose()), "no shared HS256 secret beside the provider"
    assert "node_modules/htmx.org/dist" in (ROOT / "deploy/Dockerfile").read_text()  # the web serves htmx itself


def test_the_infrastructure_is_kafka_in_kraft_mode_postgres_and_mailpit() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert (ROOT / "deploy/Dockerfile").exists()


def test_the_image_installs_from_the_lock_runs_as_no_root_and_checks_its_health() -> None:
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "pip install --no-deps --no-build-isolation ." in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert re.search(r"^HEALTHCHECK .*healthcheck\.py", dockerfile, re.MULTILINE)


def _healthcheck() -> Any:
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy/healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Alive(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_image_healthcheck_asks_the_served_service_on_the_port_its_settings_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    healthcheck = _healthcheck()
    command = ["/usr/local/bin/python", "/usr/local/bin/meetmalmo", "serve", "matching"]
    server = http.server.HTTPServer(("127.0.0.1", 0), _Alive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("MATCHING_PORT", str(server.server_address[1]))
        assert healthcheck.check(command) == 0
        monkeypatch.setenv("INTAKE_PORT", str(server.server_address[1]))
        assert healthcheck.check(["meetmalmo", "serve", "intake"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert healthcheck.check(command) == 1  # nothing answers there any more
    assert healthcheck.check(["meetmalmo", "migrate"]) == 0  # a one-off command serves nothing to check
