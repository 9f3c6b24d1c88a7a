"""One settings base for every service: read from the environment, refuse bad config at start-up."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, AnyHttpUrl, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised at start-up with every bad or missing setting named by its environment variable."""


def _networks(value: list[str]) -> list[str]:
    for proxy in value:
        ipaddress.ip_network(proxy, strict=False)  # ValueError names the bad entry
    return value


class PlatformSettings(BaseSettings):
    """Settings every service shares, prefixed MEETMALMO_."""

    model_config = SettingsConfigDict(env_prefix="MEETMALMO_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    # Prefix of every physical topic name; tests use it to keep each run's topics apart.
    topic_namespace: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    var_dir: Path = PROJECT_ROOT / "var"
    auth_jwt_secret: str | None = Field(default=None, min_length=32)
    auth_jwks_url: AnyHttpUrl | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    # Peers whose X-Forwarded-For is believed (the web in front of the services, an ingress): addresses or networks.
    trusted_proxies: Annotated[list[str], AfterValidator(_networks)] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_seconds: float = Field(default=0.2, ge=0)
    # Where people open the links in their emails: the web's pages, which ask the services' JSON APIs.
    web_public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")


class ServiceSettings(BaseSettings):
    """Base of each service's Settings; subclasses set env_prefix (INTAKE_, RESOURCES_, ...)."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    database_url: str = ""
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    # Signs the private links this service puts in emails; set a long random value in production.
    link_secret: str = Field(default="meetmalmo-local-link-secret-change-me-in-production", min_length=32)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    public_rate_limit: str = "30/minute"
    platform: PlatformSettings = Field(default_factory=PlatformSettings)

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite default under var/."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.platform.var_dir / (self.service_name + '.db')}"


S = TypeVar("S", bound=BaseSettings)


def _problems(exc: ValidationError, cls: type[BaseSettings]) -> list[str]:
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    problems = []
    for err in exc.errors():
        name = "_".join(str(p) for p in err["loc"]).upper()
        # A field read through an alias (e.g. validation_alias="NOTIFICATIONS_FROM") already names its variable.
        problems.append(f"{name if prefix and name.startswith(prefix) else prefix + name}: {err['msg']}")
    return problems


def load_settings(cls: type[S]) -> S:
    """Build settings or raise ConfigError naming every bad environment variable and why."""
    problems: list[str] = []
    platform = PlatformSettings.model_construct()
    if cls is not PlatformSettings:
        try:
            platform = PlatformSettings()
        except ValidationError as exc:
            problems += _problems(exc, PlatformSettings)
    try:
        settings = cls() if cls is PlatformSettings else cls(platform=platform)
    except ValidationError as exc:
        problems += _problems(exc, cls)
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    return settings
