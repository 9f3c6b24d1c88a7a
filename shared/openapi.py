"""What every service's OpenAPI document says about errors: the real bodies as components, and the
statuses a route can answer. Routes add `responses={**NOT_FOUND, **CONFLICT}`; staff routes get 401
and 403 from their bearer-token security, every route with input its 422, without repeating them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="the field, dotted for nesting (`originator.contact_email`)")
    reason: str = Field(description="why it was refused, in words a person can act on")
    type: str = Field(description="a stable code for the kind of error (`missing`, `string_too_long`, ...)")


class ValidationProblem(BaseModel):
    """422: the request was refused because of the fields named; nothing was stored."""

    detail: str = Field(examples=["invalid request"])
    errors: list[FieldError]


class ConflictProblem(BaseModel):
    """409: the action is not allowed in the current state; nothing changed."""

    detail: str = Field(examples=["cannot accept an initiative that is rejected"])
    current_status: str = Field(description="the state the thing is in now", examples=["rejected"])
    action: str | None = Field(default=None, description="the action that was refused", examples=["accept"])


class Problem(BaseModel):
    """Any other error: what went wrong, in one sentence."""

    detail: str


class GoneLinkProblem(BaseModel):
    """410: a genuine private link that no longer works; `state` says whether it expired or a newer one replaced it."""

    detail: str
    state: str = Field(description="expired | replaced", examples=["replaced"])


Responses = dict[int | str, dict[str, Any]]
"""What FastAPI's `responses=` takes: merge them, `responses={**NOT_FOUND, **CONFLICT}`."""


def errors(*documented: Responses) -> Responses:
    """The error responses one route can answer, merged: `responses=errors(NOT_FOUND, CONFLICT)`."""
    return {status: response for part in documented for status, response in part.items()}


def _error(status: int, model: type[BaseModel], description: str) -> Responses:
    return {status: {"model": model, "description": description}}


UNAUTHORIZED: Responses = _error(401, Problem, "No valid bearer token (missing, expired or forged)")
FORBIDDEN: Responses = _error(403, Problem, "The token's roles do not allow this")
NOT_FOUND: Responses = _error(404, Problem, "Nothing with that id, or the private link is not valid")
CONFLICT: Responses = _error(409, ConflictProblem, "Not allowed in the current state; the body names it")
GONE_LINK: Responses = _error(410, GoneLinkProblem, "The private link has expired or a newer one replaced it")
TOO_LARGE: Responses = _error(413, Problem, "The request body is larger than the service accepts")
RATE_LIMITED: Responses = _error(429, Problem, "Too many requests from this client; see Retry-After")
INVALID: Responses = _error(422, ValidationProblem, "Refused: each bad field is named with the reason")


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` tell the error bodies the handlers in shared.service really send."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (FieldError, ValidationProblem, ConflictProblem, Problem):
            components[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for operation in _operations(schema):
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _response(INVALID[422]["description"], "ValidationProblem")
            if operation.get("security"):
                responses.setdefault("401", _response(UNAUTHORIZED[401]["description"], "Problem"))
                responses.setdefault("403", _response(FORBIDDEN[403]["description"], "Problem"))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _response(description: str, component: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    methods = {"get", "put", "post", "delete", "patch"}
    return [op for path in schema.get("paths", {}).values() for method, op in path.items() if method in methods]
