"""The web on fake service APIs (httpx.MockTransport) for its own unit tests; browser tests drive
Debian's Chromium with Playwright (see browser.py)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from services.web.bootstrap import create_app, services_of
from services.web.settings import Settings
from shared.settings import PlatformSettings

SECRET = "web-tests-secret-of-at-least-32-characters"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeServices:
    """Answers the web's calls to the four services from a table of (method, path) -> handler."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.calls: list[httpx.Request] = []

    def on(self, method: str, path: str, answer: Handler | httpx.Response) -> None:
        self.routes[(method, path)] = answer if callable(answer) else (lambda _request: answer)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        handler = self.routes.get((request.method, request.url.path))
        return handler(request) if handler else httpx.Response(404, json={"detail": "not found"})


def web_settings(**overrides: Any) -> Settings:
    return Settings(session_secret=SECRET, platform=PlatformSettings(auth_jwt_secret=SECRET), **overrides)


@pytest.fixture
def fake() -> FakeServices:
    return FakeServices()


@contextlib.asynccontextmanager
async def web_client(fake: FakeServices) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh client (no cookie yet; it keeps them like a browser), against the web app on fake services."""
    settings = web_settings()
    app = create_app(settings, services_of(settings, httpx.MockTransport(fake)))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web.test") as client,
    ):
        yield client


@pytest.fixture
async def browser_client(fake: FakeServices) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies like a browser, against the web app on fake services."""
    async with web_client(fake) as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def idempotency_key_of(page: httpx.Response) -> str:
    return page.text.split('name="idempotency_key" value="', 1)[1].split('"', 1)[0]


def unprocessable(errors: list[dict[str, str]], detail: str = "invalid") -> httpx.Response:
    """A service's 422: the request refused, field by field."""
    return httpx.Response(422, json={"detail": detail, "errors": errors})
