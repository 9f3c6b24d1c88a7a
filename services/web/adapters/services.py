"""The four services' JSON APIs, as the web calls them: timeouts, the signed-in person's token and
the correlation id forwarded, and one error for 'that service is not answering'."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared import context
from shared.tracing import inject_trace_headers
from shared.web import client_address

# The visitor's address, forwarded to the services (X-Forwarded-For) so that their per-client limits count
# each visitor, not the web; the services believe it only from a trusted proxy (MEETMALMO_TRUSTED_PROXIES).
visitor: ContextVar[str | None] = ContextVar("visitor", default=None)


class RememberVisitor:
    """Pure ASGI middleware: notes who is asking (see shared.web.client_address) for the calls to the services."""

    def __init__(self, app: ASGIApp, trusted_proxies: list[str]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = visitor.set(client_address(Request(scope), self.trusted_proxies))
        try:
            await self.app(scope, receive, send)
        finally:
            visitor.reset(token)


class ServiceUnavailable(Exception):
    """The service did not answer, or answered 5xx: the page says so and nothing is lost."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} is not answering")
        self.service = service


class ServiceClient:
    def __init__(self, name: str, base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None):
        self.name = name
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if (address := visitor.get()) is not None:
            sent["X-Forwarded-For"] = address
        if (correlation := context.correlation_id.get()) is not None:
            sent["X-Correlation-ID"] = correlation
        sent.update(inject_trace_headers())  # the service's spans join the page's trace
        try:
            response = await self._client.request(method, path, json=json, params=params, headers=sent)
        except httpx.HTTPError:
            raise ServiceUnavailable(self.name) from None
        if response.status_code >= 500:
            raise ServiceUnavailable(self.name)
        return response

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def close(self) -> None:
        await self._client.aclose()


@dataclass(frozen=True)
class Services:
    intake: ServiceClient
    resources: ServiceClient
    matching: ServiceClient
    notifications: ServiceClient

    async def close(self) -> None:
        for client in (self.intake, self.resources, self.matching, self.notifications):
            await client.close()


def field_errors(response: httpx.Response) -> dict[str, dict[str, str]]:
    """A service's 422 as {field: {"type": ..., "reason": ...}} (the first error of each field)."""
    errors: dict[str, dict[str, str]] = {}
    for error in response.json().get("errors", []):
        field = str(error.get("field", ""))
        errors.setdefault(
            field, {"field": field, "type": str(error.get("type", "")), "reason": str(error.get("reason", ""))}
        )
    return errors
