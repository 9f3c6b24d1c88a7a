"""One settings base for every service: read from the environment, refuse bad config at start-up."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Annotated, ClassVar, Literal, Protocol, TypeVar

from pydantic import AfterValidator, AnyHttpUrl, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised at start-up with every bad or missing setting named by its environment variable."""


Environment = Literal["local", "production"]
"""`local` (make run, meetmalmo run, the tests) may use the development defaults; `production`, the default,
refuses to start with a missing, short or well-known secret."""

SECRET_MIN_LENGTH = 32
# Defaults and examples published in this repository: anyone can sign with them, so production refuses them.
WELL_KNOWN_SECRETS = frozenset(
    {
        "meetmalmo-local-development-secret-change-me",
        "meetmalmo-local-link-secret-change-me-in-production",
        "meetmalmo-local-web-session-secret-change-me",
        "change-me-to-a-long-random-secret-of-32-chars",
        "change-me-to-another-long-random-secret-of-32-chars",
        "meetmalmo-local-profile-link-secret-change-me",
    }
)
DEVELOPMENT_LINK_SECRET = "meetmalmo-local-link-secret-change-me-in-production"  # noqa: S105 - local default only
DEVELOPMENT_PROFILE_LINK_SECRET = "meetmalmo-local-profile-link-secret-change-me"  # noqa: S105 - local default only


def secret_problem(variable: str, value: str | None) -> str | None:
    """Why `value` cannot sign anything in production (named by its variable), or None when it can."""
    if not value:
        return f"{variable}: required outside local mode (MEETMALMO_ENVIRONMENT=local)"
    if len(value) < SECRET_MIN_LENGTH:
        return f"{variable}: at least {SECRET_MIN_LENGTH} characters outside local mode"
    lowered = value.lower()
    if value in WELL_KNOWN_SECRETS or "change-me" in lowered or "changeme" in lowered or len(set(value)) < 8:
        return f"{variable}: a well-known or trivial value; set a long random secret (e.g. `openssl rand -hex 32`)"
    return None


class HasSecrets(Protocol):
    def secret_problems(self) -> list[str]: ...


def refuse_weak_secrets(settings: HasSecrets) -> None:
    """Stop start-up (ConfigError naming each variable) when a secret the app signs with is weak outside local mode.

    `settings` is a service's, the web's or the platform's settings; each says which secrets it needs."""
    problems = settings.secret_problems()
    if problems:
        raise ConfigError("refusing to start with weak secrets: " + "; ".join(problems))


def _networks(value: list[str]) -> list[str]:
    for proxy in value:
        ipaddress.ip_network(proxy, strict=False)  # ValueError names the bad entry
    return value


class PlatformSettings(BaseSettings):
    """Settings every service shares, prefixed MEETMALMO_."""

    model_config = SettingsConfigDict(env_prefix="MEETMALMO_", extra="ignore")

    environment: Environment = "production"
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Prefix of every physical topic name; tests use it to keep each run's topics apart.
    topic_namespace: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    var_dir: Path = PROJECT_ROOT / "var"
    auth_jwt_secret: str | None = Field(default=None, min_length=32)
    # Signs and verifies the private profile link: resources verifies it, notifications signs it at send time
    # (so no event and no stored email carries it). Unset: a development default, in local mode only.
    profile_link_secret: str | None = Field(default=None, min_length=SECRET_MIN_LENGTH)
    auth_jwks_url: AnyHttpUrl | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    # The identity provider's JWKS is fetched with this timeout; an unknown key id refetches at most this often.
    auth_jwks_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    auth_jwks_refresh_seconds: float = Field(default=30.0, ge=0)
    # Peers whose X-Forwarded-For is believed (the web in front of the services, an ingress): addresses or networks.
    trusted_proxies: Annotated[list[str], AfterValidator(_networks)] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    # /readyz answers 503 while the oldest unpublished outbox row is older than this.
    outbox_max_age_seconds: float = Field(default=300.0, gt=0)
    # Deterministic failures (validation, a domain rule) before a message goes to the DLQ; outages never count.
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_seconds: float = Field(default=0.2, ge=0)
    # While the database is away: retry with backoff capped here, without limit.
    consumer_outage_backoff_max_seconds: float = Field(default=30.0, gt=0)
    # One delivery waits this long at most before the record is handed back and polled again, so the
    # member polls well within max.poll.interval and keeps its partitions through an outage of any length.
    consumer_hold_seconds: float = Field(default=60.0, gt=0)
    consumer_max_poll_interval_seconds: float = Field(default=300.0, gt=0)
    # A consumer takes up to this many records at once (one transaction, one offset commit); a poll that finds
    # none waits this long, and FastStream sleeps as long again before the next: an idle consumer's added latency.
    consumer_batch_size: int = Field(default=500, ge=1, le=10_000)
    consumer_batch_wait_ms: int = Field(default=10, ge=1, le=1_000)
    # processed_events rows (the consumers' de-duplication marks) are kept this long; longer than topic retention.
    processed_events_retention_days: float = Field(default=14.0, gt=0)
    # Topics as the services create them. Locally 1 broker; production (3 brokers): replication 3, min ISR 2.
    topic_partitions: int = Field(default=3, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    topic_min_insync_replicas: int = Field(default=1, ge=1)
    topic_retention_hours: float = Field(default=7 * 24.0, gt=0)
    topic_cleanup_policy: Literal["delete", "compact", "compact,delete"] = "delete"
    dead_letter_retention_hours: float = Field(default=30 * 24.0, gt=0)
    # Where people open the links in their emails: the web's pages, which ask the services' JSON APIs.
    web_public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")

    @model_validator(mode="after")
    def _jwks_needs_issuer_and_audience(self) -> PlatformSettings:
        # Without both, a token the provider issued for another application (or another tenant) would pass.
        if self.auth_jwks_url is not None and not (self.auth_issuer and self.auth_audience):
            missing = [n for n, v in (("ISSUER", self.auth_issuer), ("AUDIENCE", self.auth_audience)) if not v]
            raise ValueError(
                " and ".join(f"MEETMALMO_AUTH_{name}" for name in missing) + ": required with MEETMALMO_AUTH_JWKS_URL"
            )
        return self

    @property
    def local(self) -> bool:
        return self.environment == "local"

    def secret_problems(self) -> list[str]:
        """Staff tokens: a JWKS (checked above), else a strong HS256 secret outside local mode."""
        if self.local or self.auth_jwks_url is not None:
            return []
        problem = secret_problem("MEETMALMO_AUTH_JWT_SECRET", self.auth_jwt_secret)
        return [problem] if problem else []

    @property
    def profile_link_key(self) -> str:
        """The profile link's secret; the development default when unset (refused outside local mode, below)."""
        return self.profile_link_secret or DEVELOPMENT_PROFILE_LINK_SECRET

    def profile_link_secret_problems(self) -> list[str]:
        """For the services that sign or verify the profile link (resources, notifications)."""
        if self.local:
            return []
        problem = secret_problem("MEETMALMO_PROFILE_LINK_SECRET", self.profile_link_secret)
        return [problem] if problem else []

    @model_validator(mode="after")
    def _consistent_kafka_settings(self) -> PlatformSettings:
        if self.topic_min_insync_replicas > self.topic_replication_factor:
            raise ValueError("MEETMALMO_TOPIC_MIN_INSYNC_REPLICAS cannot exceed MEETMALMO_TOPIC_REPLICATION_FACTOR")
        if self.consumer_hold_seconds >= self.consumer_max_poll_interval_seconds:
            raise ValueError(
                "MEETMALMO_CONSUMER_HOLD_SECONDS must be shorter than MEETMALMO_CONSUMER_MAX_POLL_INTERVAL_SECONDS"
            )
        if self.processed_events_retention_days * 24 <= self.topic_retention_hours:
            raise ValueError(
                "MEETMALMO_PROCESSED_EVENTS_RETENTION_DAYS must be longer than MEETMALMO_TOPIC_RETENTION_HOURS"
            )
        return self


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
    link_secret: str = Field(default=DEVELOPMENT_LINK_SECRET, min_length=SECRET_MIN_LENGTH)
    # A private link older than this is refused with 410 (its page says so): a forwarded or old email stops working.
    link_max_age_days: int = Field(default=365, ge=1, le=3650)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    public_rate_limit: str = "30/minute"
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    # True for the services that sign or verify the private profile link: they need MEETMALMO_PROFILE_LINK_SECRET.
    uses_profile_link: ClassVar[bool] = False

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite default under var/."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.platform.var_dir / (self.service_name + '.db')}"

    @property
    def link_max_age(self) -> timedelta:
        return timedelta(days=self.link_max_age_days)

    def secret_problems(self) -> list[str]:
        if self.platform.local:
            return []
        prefix = str(self.model_config.get("env_prefix", "")).upper()
        link = secret_problem(f"{prefix}LINK_SECRET", self.link_secret)
        profile = self.platform.profile_link_secret_problems() if self.uses_profile_link else []
        return self.platform.secret_problems() + ([link] if link else []) + profile


S = TypeVar("S", bound=BaseSettings)


def _problems(exc: ValidationError, cls: type[BaseSettings]) -> list[str]:
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    problems = []
    for err in exc.errors():
        if not err["loc"]:  # a check across fields names its variables itself
            problems.append(str(err["msg"]).removeprefix("Value error, "))
            continue
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
