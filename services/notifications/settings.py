from email.utils import parseaddr
from typing import Annotated, ClassVar

from pydantic import AnyHttpUrl, EmailStr, Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", populate_by_name=True)

    service_name: str = "notifications"
    # Signs the profile link at send time with MEETMALMO_PROFILE_LINK_SECRET.
    uses_profile_link: ClassVar[bool] = True
    port: int = 8004
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8004")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # Unset: STARTTLS outside local mode (a production server must not see passwords and emails in clear), not
    # locally (the local mailbox has none). Set it to say so either way.
    smtp_starttls: bool | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # Kept open and reused from one email to the next; this many emails are handed over at once.
    smtp_connections: int = Field(default=4, ge=1, le=64)
    # `from` is a Python keyword, so the field has another name but reads NOTIFICATIONS_FROM.
    sender: str = Field(default="Meet Malmö <noreply@meetmalmo.se>", validation_alias="NOTIFICATIONS_FROM")
    coordinator_emails: Annotated[list[EmailStr], NoDecode] = Field(default_factory=list)

    # A 4xx to the message itself is retried with exponential backoff, capped; after send_max_attempts
    # the delivery is failed (a coordinator can queue it again). While nothing could be handed over
    # (server away, a 4xx before DATA) an email waits without using up attempts, for send_give_up_hours.
    send_max_attempts: int = Field(default=30, ge=1)
    send_give_up_hours: float = Field(default=72.0, gt=0)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=600.0, gt=0)
    send_poll_seconds: float = Field(default=1.0, gt=0)
    # The text of an email (it shows names, addresses, initiatives) is kept this long after the email was sent,
    # failed or given up, for staff to send it again; then only the log entry stays.
    body_retention_days: float = Field(default=30.0, gt=0)
    # Coordinators who chose the daily digest get it at this hour, Malmö time (Europe/Stockholm).
    digest_hour: int = Field(default=7, ge=0, le=23)

    @field_validator("coordinator_emails", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("sender")
    @classmethod
    def _an_address(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address:
            raise ValueError('must be an address such as "Meet Malmö <noreply@meetmalmo.se>"')
        return value

    @property
    def starttls(self) -> bool:
        """Whether the SMTP connection is upgraded with STARTTLS (and must be: no server offering it is refused)."""
        return self.smtp_starttls if self.smtp_starttls is not None else not self.platform.local
