from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import SECRET_MIN_LENGTH, PlatformSettings, secret_problem

# Used only when no secret is configured, so that `make run` works out of the box on a laptop.
DEVELOPMENT_SESSION_SECRET = "meetmalmo-local-web-session-secret-change-me"  # noqa: S105 - local default only


class Settings(BaseSettings):
    """The web's settings, prefixed WEB_. It keeps no data: it asks the four services."""

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore")

    service_name: str = "web"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")
    intake_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8001")
    resources_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8002")
    matching_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8003")
    notifications_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8004")
    service_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    session_secret: str = Field(default=DEVELOPMENT_SESSION_SECRET, min_length=SECRET_MIN_LENGTH)
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    oidc_issuer: AnyHttpUrl | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_roles_claim: str = "roles"
    platform: PlatformSettings = Field(default_factory=PlatformSettings)

    @property
    def local_sign_in(self) -> bool:
        """The sign-in page that mints a local token exists only for `make run`: never beside real OIDC,
        never outside local mode (anyone could pick the coordinator role)."""
        return self.oidc_issuer is None and self.platform.local

    def secret_problems(self) -> list[str]:
        """Outside local mode: a strong session secret, and staff sign in through the identity provider."""
        if self.platform.local:
            return []
        problems = [p for p in (secret_problem("WEB_SESSION_SECRET", self.session_secret),) if p]
        if self.oidc_issuer is None:
            problems.append("WEB_OIDC_ISSUER: required outside local mode (the local sign-in page is for make run)")
        else:
            problems += [
                f"{variable}: required with WEB_OIDC_ISSUER"
                for variable, value in (("WEB_OIDC_CLIENT_ID", self.oidc_client_id),
                                        ("WEB_OIDC_CLIENT_SECRET", self.oidc_client_secret))
                if not value
            ]  # fmt: skip
        return problems  # the web checks no staff token itself: the services do (MEETMALMO_AUTH_*)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.scheme == "https"
