"""Staff authentication: bearer JWTs with a `roles` claim (coordinator, operator).

Locally tokens are HS256-signed with MEETMALMO_AUTH_JWT_SECRET; in production they come from the
city's identity provider and are checked against its JWKS, issuer and audience.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.settings import PlatformSettings

# Used only when no secret is configured, so that `make run` works out of the box on a laptop.
DEVELOPMENT_SECRET = "meetmalmo-local-development-secret-change-me"  # noqa: S105 - local default only


class Role(StrEnum):
    COORDINATOR = "coordinator"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Staff:
    subject: str
    email: str | None
    roles: frozenset[str]


class TokenVerifier:
    def __init__(self, settings: PlatformSettings) -> None:
        self._settings = settings
        self._jwks = jwt.PyJWKClient(str(settings.auth_jwks_url)) if settings.auth_jwks_url else None

    def verify(self, token: str) -> Staff:
        options: Any = {"require": ["exp", "sub"]}
        if self._jwks is not None:
            key = self._jwks.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256", "ES256"],
                audience=self._settings.auth_audience,
                issuer=self._settings.auth_issuer,
                options=options,
            )
        else:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options=options)
        roles = claims.get("roles", [])
        return Staff(subject=claims["sub"], email=claims.get("email"), roles=frozenset(roles))

    @property
    def secret(self) -> str:
        return self._settings.auth_jwt_secret or DEVELOPMENT_SECRET


def issue_local_token(settings: PlatformSettings, *, email: str, roles: list[str], hours: int = 12) -> str:
    now = datetime.now(UTC)
    claims = {"sub": email, "email": email, "roles": roles, "iat": now, "exp": now + timedelta(hours=hours)}
    return jwt.encode(claims, settings.auth_jwt_secret or DEVELOPMENT_SECRET, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False)


def require_roles(*allowed: Role):  # type: ignore[no-untyped-def]
    """Dependency: 401 without a valid token, 403 when none of the token's roles is allowed."""

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Staff:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        verifier: TokenVerifier = request.app.state.token_verifier
        try:
            staff = verifier.verify(credentials.credentials)
        except jwt.PyJWTError as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, f"invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}
            ) from None
        if not staff.roles & {role.value for role in allowed}:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role {' or '.join(r.value for r in allowed)}")
        return staff

    return dependency


CoordinatorDep = Annotated[Staff, Depends(require_roles(Role.COORDINATOR))]
StaffReaderDep = Annotated[Staff, Depends(require_roles(Role.COORDINATOR, Role.OPERATOR))]
