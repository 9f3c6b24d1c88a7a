from pydantic import AnyHttpUrl
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHING_", extra="ignore")

    service_name: str = "matching"
    port: int = 8003
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8003")
