"""HTTP edge helpers every service uses: body size limit, rate limit, taxonomy, CSV. (Pages are the web's.)"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

import structlog
from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import context
from shared.ratelimit import RateLimit as RateLimit  # the routes' dependency, beside the other edge helpers
from shared.ratelimit import client_address as client_address
from shared.taxonomy import TAXONOMY, Taxonomy

T = TypeVar("T")


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over `max_bytes` with 413, also when chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)

    async def _too_large(self, send: Send) -> None:
        body = f'{{"detail":"request body over {self.max_bytes} bytes"}}'.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class CorrelationId:
    """Pure ASGI middleware: every request works under a correlation id (the caller's X-Correlation-ID
    or a new one), bound to the log lines and the events it causes, and echoed in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-correlation-id", b"").decode("latin-1")[:100]
        correlation_id = given or str(uuid.uuid4())

        async def echo(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-correlation-id", correlation_id.encode("latin-1")))
            await send(message)

        token = context.correlation_id.set(correlation_id)
        try:
            with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
                await self.app(scope, receive, echo)
        finally:
            context.correlation_id.reset(token)


def taxonomy_router() -> APIRouter:
    router = APIRouter(tags=["taxonomy"])

    @router.get("/api/v1/taxonomy", summary="Themes, organisation types, what can be sought, competences (sv/en)")
    async def taxonomy() -> Taxonomy:
        """The codes the platform's forms and filters use (themes, organisation types, what an initiative
        seeks, competences, languages), each with its Swedish and English label. Public."""
        return TAXONOMY

    return router


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d .]*$")  # +46701234567 or -3 is data, not a formula


def csv_cell(value: Any) -> Any:
    """A cell as text a spreadsheet will not run: lists joined, formula-like text quoted (CSV injection)."""
    if isinstance(value, list | tuple):
        value = "; ".join(map(str, value))
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingResponse:
    """Staff exports; public input in them (titles, names) is defused by csv_cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return StreamingResponse(
        iter([buffer.getvalue()]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
