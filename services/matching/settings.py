from pydantic import AnyHttpUrl, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHING_", extra="ignore")

    service_name: str = "matching"
    port: int = 8003
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8003")
    # The Kafka consumer group; a new name with an empty database rebuilds the projections from the topics.
    consumer_group: str = Field(default="matching", pattern=r"^[A-Za-z0-9._-]+$")
    # An invitation nobody answered within this many days counts as declined.
    invitation_days: int = Field(default=7, ge=1, le=90)
    # How often the sweep expires invitations, fills open seats and retries initiatives still waiting.
    sweep_seconds: float = Field(default=60.0, gt=0)
    # CP-SAT's wall-clock limit per group and its deterministic work limit (which keeps results repeatable).
    solver_time_limit_seconds: float = Field(default=0.5, gt=0, le=30)
    solver_deterministic_limit: float = Field(default=0.2, gt=0, le=30)
    # Group events carry contact details: matching's outbox keeps a published one this long, then deletes it.
    outbox_keep_published_seconds: float = Field(default=300.0, ge=0)
