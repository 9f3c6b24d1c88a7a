from pydantic import AnyHttpUrl, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service_name: str = "intake"
    port: int = 8001
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8001")
    # An Idempotency-Key (and the receipt it answers again, which shows the contact) is kept this long.
    idempotency_retention_hours: int = Field(default=72, ge=1, le=24 * 90)
    # An ended initiative (rejected, withdrawn, closed) keeps its originator's contact this long, then it is erased.
    originator_retention_days: int = Field(default=365, ge=1, le=3650)
