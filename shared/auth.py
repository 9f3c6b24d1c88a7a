"""Staff authentication: bearer JWTs with a `roles` claim (coordinator, operator).

Locally tokens are HS256-signed with MEETMALMO_AUTH_JWT_SECRET; in production they come from the
city's identity provider and are checked against its JWKS, issuer and audience. The JWKS is fetched
asynchronously with a short timeout and cached; an unknown key id refetches it (at most once per
MEETMALMO_AUTH_JWKS_REFRESH_SECONDS), and a provider that cannot be reached makes staff routes answer
503 while everything else keeps working.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import httpx
import jwt
import structlog
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.settings import ConfigError, PlatformSettings

log = structlog.get_logger(__name__)

# Used only in local mode when no secret is configured, so that `make run` works out of the box on a laptop.
DEVELOPMENT_SECRET = "meetmalmo-local-development-secret-change-me"  # noqa: S105 - local default only
# What the identity provider may sign with; never HS256 there (its public key would become an HMAC secret).
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
FAILED_FETCH_RETRY_SECONDS = 5.0  # after the provider did not answer, ask again no sooner than this


class Role(StrEnum):
    COORDINATOR = "coordinator"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Staff:
    subject: str
    email: str | None
    roles: frozenset[str]


class IdentityProviderUnavailable(RuntimeError):
    """The JWKS could not be fetched: no token can be checked until the provider answers again."""


class JwksKeys:
    """The identity provider's signing keys by key id, fetched without blocking the event loop."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        refresh_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._refresh_seconds = refresh_seconds
        self._transport = transport
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._failed_at = -float("inf")
        self._lock: asyncio.Lock | None = None
        self.fetches = 0  # how often the provider was asked (tests read it)

    async def key(self, kid: str | None) -> jwt.PyJWK:
        found = self._known(kid)
        if found is not None:
            return found
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            found = self._known(kid)
            if found is None and self._may_fetch():
                await self._fetch()
                found = self._known(kid)
        if found is None:
            if not self._keys and time.monotonic() - self._failed_at < FAILED_FETCH_RETRY_SECONDS:
                raise IdentityProviderUnavailable("the identity provider's keys cannot be fetched")
            raise jwt.InvalidKeyError("the token's key is not one the identity provider publishes")
        return found

    def _known(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:  # a provider with one key may leave `kid` out
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _may_fetch(self) -> bool:
        now = time.monotonic()
        if now - self._failed_at < FAILED_FETCH_RETRY_SECONDS:
            return False
        # Unknown key ids (a rotation, or junk sent on purpose) refetch at most once per refresh period.
        return now - self._fetched_at >= self._refresh_seconds

    async def _fetch(self) -> None:
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
                response = await client.get(self._url)
                response.raise_for_status()
                keyset = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            self._failed_at = time.monotonic()
            log.warning("auth.jwks_unavailable", error=type(exc).__name__)
            if not self._keys:
                raise IdentityProviderUnavailable("the identity provider's keys cannot be fetched") from None
            return  # keep the keys we have: tokens signed with them still verify
        self._keys = {key.key_id: key for key in keyset.keys if getattr(key, "public_key_use", "sig") in {None, "sig"}}
        self._fetched_at = time.monotonic()


class TokenVerifier:
    def __init__(self, settings: PlatformSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._jwks = (
            JwksKeys(
                str(settings.auth_jwks_url),
                timeout=settings.auth_jwks_timeout_seconds,
                refresh_seconds=settings.auth_jwks_refresh_seconds,
                transport=transport,
            )
            if settings.auth_jwks_url
            else None
        )

    @property
    def jwks(self) -> JwksKeys | None:
        return self._jwks

    async def verify(self, token: str) -> Staff:
        """The staff member a valid token names; jwt.PyJWTError for any token that is not one,
        IdentityProviderUnavailable while the provider's keys cannot be fetched."""
        options: Any = {"require": ["exp", "sub"]}
        if self._jwks is not None:
            options["require"] += ["iss", "aud"]
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ASYMMETRIC_ALGORITHMS:
                raise jwt.InvalidAlgorithmError(f"the identity provider does not sign with {header.get('alg')!r}")
            key = await self._jwks.key(header.get("kid"))
            # The key's own algorithm when it declares one: an RSA key never checks an ES256 or HS256 token.
            own = [key.algorithm_name] if key.algorithm_name in ASYMMETRIC_ALGORITHMS else list(ASYMMETRIC_ALGORITHMS)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=own,
                audience=self._settings.auth_audience,
                issuer=self._settings.auth_issuer,
                options=options,
            )
        else:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options=options)
        roles = claims.get("roles", [])
        roles = [roles] if isinstance(roles, str) else roles
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise jwt.InvalidTokenError("the roles claim is not a list of names")
        return Staff(subject=str(claims["sub"]), email=claims.get("email"), roles=frozenset(roles))

    @property
    def secret(self) -> str:
        return signing_secret(self._settings)


def signing_secret(settings: PlatformSettings) -> str:
    """The HS256 secret of local tokens; the public development default only in local mode."""
    if settings.auth_jwt_secret:
        return settings.auth_jwt_secret
    if settings.local:
        return DEVELOPMENT_SECRET
    raise ConfigError("MEETMALMO_AUTH_JWT_SECRET: required outside local mode (MEETMALMO_ENVIRONMENT=local)")


def issue_local_token(settings: PlatformSettings, *, email: str, roles: list[str], hours: int = 12) -> str:
    now = datetime.now(UTC)
    claims = {"sub": email, "email": email, "roles": roles, "iat": now, "exp": now + timedelta(hours=hours)}
    return jwt.encode(claims, signing_secret(settings), algorithm="HS256")


_bearer = HTTPBearer(auto_error=False)


def require_roles(*allowed: Role):  # type: ignore[no-untyped-def]
    """Dependency: 401 without a valid token, 403 when none of the token's roles is allowed,
    503 while the identity provider's keys cannot be fetched."""

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Staff:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        verifier: TokenVerifier = request.app.state.token_verifier
        try:
            staff = await verifier.verify(credentials.credentials)
        except IdentityProviderUnavailable:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "staff sign-in cannot be checked right now; try again shortly",
                headers={"Retry-After": str(int(FAILED_FETCH_RETRY_SECONDS))},
            ) from None
        except jwt.PyJWTError as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, f"invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}
            ) from None
        if not staff.roles & {role.value for role in allowed}:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role {' or '.join(r.value for r in allowed)}")
        return staff

    dependency.allowed_roles = frozenset(allowed)  # type: ignore[attr-defined]  # for the route audit test
    return dependency


CoordinatorDep = Annotated[Staff, Depends(require_roles(Role.COORDINATOR))]
StaffReaderDep = Annotated[Staff, Depends(require_roles(Role.COORDINATOR, Role.OPERATOR))]
