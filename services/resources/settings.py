from pydantic import AnyHttpUrl
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESOURCES_", extra="ignore")

    service_name: str = "resources"
    port: int = 8002
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8002")
