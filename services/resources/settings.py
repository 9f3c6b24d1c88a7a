from pydantic import AnyHttpUrl, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESOURCES_", extra="ignore")

    service_name: str = "resources"
    port: int = 8002
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8002")
    # A registration never confirmed is erased this many days after its last link expired.
    unconfirmed_retention_days: int = Field(default=7, ge=0)
    purge_interval_seconds: float = Field(default=3600, gt=0)
