"""Security rules of the platform as a whole: no weak secret outside local mode, ..."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from typer.testing import CliRunner

from services.web.settings import Settings as WebSettings
from shared.auth import DEVELOPMENT_SECRET, issue_local_token
from shared.cli import app as cli
from shared.settings import DEVELOPMENT_LINK_SECRET, ConfigError, PlatformSettings

SERVICES = ("intake", "resources", "matching", "notifications")
STRONG = "9f2c1e7a4b3d8f60a1c5e9b2d7f4a3c8e1b6d0f9"
runner = CliRunner()


def service_settings(service: str, **fields: Any) -> Any:
    return importlib.import_module(f"services.{service}.settings").Settings(
        database_url="sqlite+aiosqlite:///:memory:", **fields
    )


def create(service: str, settings: Any) -> Any:
    return importlib.import_module(f"services.{service}.bootstrap").create_app(settings)


# --- secrets ---------------------------------------------------------------------------------------


def test_production_is_the_default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEETMALMO_ENVIRONMENT", raising=False)
    assert PlatformSettings().environment == "production"


@pytest.mark.parametrize("service", SERVICES)
def test_outside_local_mode_a_service_refuses_to_start_without_its_secrets_naming_each(service: str) -> None:
    settings = service_settings(service, platform=PlatformSettings(environment="production"))
    with pytest.raises(ConfigError) as error:
        create(service, settings)
    assert "MEETMALMO_AUTH_JWT_SECRET" in str(error.value)
    assert f"{service.upper()}_LINK_SECRET" in str(error.value), "the public default link secret is refused"


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("short-secret", "at least 32"),
        (DEVELOPMENT_SECRET, "well-known"),
        ("change-me-to-a-long-random-secret-of-32-chars", "well-known"),
        (DEVELOPMENT_LINK_SECRET, "well-known"),
        ("a" * 40, "trivial"),
    ],
)
def test_outside_local_mode_a_short_or_well_known_secret_is_refused(secret: str, why: str) -> None:
    settings = service_settings(
        "intake",
        link_secret=STRONG,
        # The field's own minimum (32) already refuses a short one at load time; this checks the start-up rule too.
        platform=PlatformSettings.model_construct(**(PlatformSettings(environment="production").model_dump()
                                                     | {"auth_jwt_secret": secret})),
    )  # fmt: skip
    with pytest.raises(ConfigError, match=f"MEETMALMO_AUTH_JWT_SECRET: .*{why}"):
        create("intake", settings)


@pytest.mark.parametrize("service", SERVICES)
def test_outside_local_mode_a_service_starts_with_strong_secrets(service: str) -> None:
    platform = PlatformSettings(environment="production", auth_jwt_secret=STRONG)
    assert create(service, service_settings(service, link_secret=STRONG[::-1], platform=platform)) is not None


def test_in_local_mode_the_development_defaults_work(tmp_path: Any) -> None:
    platform = PlatformSettings(environment="local", var_dir=tmp_path)
    assert create("intake", service_settings("intake", platform=platform)) is not None
    assert create("web", WebSettings(platform=platform)).state.settings.local_sign_in


def test_outside_local_mode_the_web_needs_a_strong_session_secret_and_the_identity_provider() -> None:
    settings = WebSettings(platform=PlatformSettings(environment="production"))
    with pytest.raises(ConfigError) as error:
        create("web", settings)
    assert "WEB_SESSION_SECRET" in str(error.value) and "WEB_OIDC_ISSUER" in str(error.value)
    configured = WebSettings(
        session_secret=STRONG,
        oidc_issuer="https://login.malmo.se/realms/staff",
        oidc_client_id="meetmalmo",
        platform=PlatformSettings(environment="production"),
    )
    assert not create("web", configured).state.settings.local_sign_in


def test_outside_local_mode_the_web_never_offers_the_local_sign_in() -> None:
    settings = WebSettings(session_secret=STRONG, platform=PlatformSettings(environment="production"))
    assert not settings.local_sign_in, "it would let anyone pick the coordinator role"


def test_serve_outside_local_mode_without_secrets_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETMALMO_ENVIRONMENT", "production")
    monkeypatch.delenv("MEETMALMO_AUTH_JWT_SECRET", raising=False)
    monkeypatch.setenv("INTAKE_DATABASE_URL", "sqlite+aiosqlite:///:memory:")
    result = runner.invoke(cli, ["serve", "intake"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "MEETMALMO_AUTH_JWT_SECRET" in lines[0] and "INTAKE_LINK_SECRET" in lines[0]
    assert "Traceback" not in result.output


def test_no_token_is_minted_with_the_development_secret_outside_local_mode() -> None:
    with pytest.raises(ConfigError, match="MEETMALMO_AUTH_JWT_SECRET"):
        issue_local_token(PlatformSettings(environment="production"), email="eva@malmo.se", roles=["coordinator"])
