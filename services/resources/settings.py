from typing import ClassVar

from pydantic import AnyHttpUrl, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESOURCES_", extra="ignore")

    service_name: str = "resources"
    # Verifies the profile link with MEETMALMO_PROFILE_LINK_SECRET (RESOURCES_LINK_SECRET as the previous key).
    uses_profile_link: ClassVar[bool] = True
    port: int = 8002
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8002")
    # A registration never confirmed is erased this many days after its last link expired.
    unconfirmed_retention_days: int = Field(default=7, ge=0)
    purge_interval_seconds: float = Field(default=3600, gt=0)
