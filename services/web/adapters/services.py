"""The four services' JSON APIs, as the web calls them: timeouts, the signed-in person's token and
the correlation id forwarded, and one error for 'that service is not answering'."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shared import context


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
        if (correlation := context.correlation_id.get()) is not None:
            sent["X-Correlation-ID"] = correlation
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
        errors.setdefault(
            str(error.get("field", "")), {"type": error.get("type", ""), "reason": error.get("reason", "")}
        )
    return errors
