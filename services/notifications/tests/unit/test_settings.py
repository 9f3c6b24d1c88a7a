"""Notifications's settings: STARTTLS is on by default outside local mode."""

from __future__ import annotations

import pytest

from services.notifications.settings import Settings
from shared.settings import PlatformSettings

STRONG = "a-strong-secret-of-more-than-thirty-two-characters"


def settings(environment: str, **changes: object) -> Settings:
    platform = PlatformSettings(environment=environment, auth_jwt_secret=STRONG)  # type: ignore[arg-type]
    return Settings(platform=platform, link_secret=STRONG, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("environment", "expected"), [("production", True), ("local", False)])
def test_starttls_is_on_unless_local_when_not_set(environment: str, expected: bool) -> None:
    assert settings(environment).starttls is expected


@pytest.mark.parametrize("environment", ["production", "local"])
@pytest.mark.parametrize("chosen", [True, False])
def test_a_chosen_starttls_holds_in_either_mode(environment: str, chosen: bool) -> None:
    assert settings(environment, smtp_starttls=chosen).starttls is chosen
