"""Production token verification against a real JWKS endpoint (forged, expired, wrong issuer or audience,
`alg: none`, HS256 signed with the public key: all refused), and the AsyncAPI document."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from shared.asyncapi import asyncapi_json
from shared.auth import CoordinatorDep, IdentityProviderUnavailable, TokenVerifier
from shared.contracts import Event, Topic
from shared.settings import ConfigError, PlatformSettings, load_settings

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ROTATED = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ISSUER, AUDIENCE = "https://idp.malmo.se", "meetmalmo"


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class IdentityProvider:
    """A JWKS endpoint that can rotate its keys, hang (answer after `delay`) or fail."""

    url: str = ""
    keys: list[dict[str, Any]] = field(default_factory=lambda: [jwk(KEY, "city-idp-1")])
    delay: float = 0.0
    down: bool = False
    requests: int = 0


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.requests += 1
            time.sleep(provider.delay)
            if provider.down:
                self.send_response(502)
                self.end_headers()
                return
            body = json.dumps({"keys": provider.keys}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the verifier gave up waiting (the hanging-provider test)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    provider.url = f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    yield provider
    server.shutdown()


def production(idp: IdentityProvider, **overrides: Any) -> PlatformSettings:
    fields: dict[str, Any] = {
        "environment": "production",
        "auth_jwks_url": idp.url,
        "auth_issuer": ISSUER,
        "auth_audience": AUDIENCE,
        "auth_jwks_timeout_seconds": 1.0,
    }
    return PlatformSettings(**(fields | overrides))


def idp_token(key: rsa.RSAPrivateKey = KEY, kid: str = "city-idp-1", **claims: Any) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": "eva",
        "email": "eva@malmo.se",
        "roles": ["coordinator"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        **claims,
    }
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm="RS256",
                      headers={"kid": kid})  # fmt: skip


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_token_from_the_identity_provider_is_checked_against_its_jwks_issuer_and_audience(
    idp: IdentityProvider,
) -> None:
    staff = await TokenVerifier(production(idp)).verify(idp_token())
    assert staff.email == "eva@malmo.se" and staff.roles == {"coordinator"}


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"aud": "another-app"}, jwt.InvalidAudienceError),
        ({"aud": None}, jwt.MissingRequiredClaimError),
        ({"iss": "https://evil.example"}, jwt.InvalidIssuerError),
        ({"iss": None}, jwt.MissingRequiredClaimError),
        ({"exp": datetime.now(UTC) - timedelta(minutes=1)}, jwt.ExpiredSignatureError),
    ],
    ids=["wrong-audience", "no-audience", "wrong-issuer", "no-issuer", "expired"],
)
async def test_a_token_for_another_app_from_another_issuer_or_expired_is_refused(
    idp: IdentityProvider, claims: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await TokenVerifier(production(idp)).verify(idp_token(**claims))


async def test_a_forged_token_signed_with_another_key_is_refused(idp: IdentityProvider) -> None:
    with pytest.raises(jwt.InvalidSignatureError):
        await TokenVerifier(production(idp)).verify(idp_token(key=ROTATED))


async def test_alg_none_is_refused_in_both_modes(idp: IdentityProvider) -> None:
    claims = {"sub": "x", "roles": ["coordinator"], "iss": ISSUER, "aud": AUDIENCE, "exp": 9999999999}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'city-idp-1'})}.{b64(claims)}."
    with pytest.raises(jwt.InvalidAlgorithmError):
        await TokenVerifier(production(idp)).verify(unsigned)
    with pytest.raises(jwt.InvalidAlgorithmError):
        await TokenVerifier(PlatformSettings(environment="local", auth_jwt_secret="s" * 40)).verify(unsigned)


async def test_hs256_signed_with_the_providers_public_key_is_refused(idp: IdentityProvider) -> None:
    """Algorithm confusion: the public key is public, so an HMAC made with it proves nothing."""
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"sub": "x", "roles": ["coordinator"], "iss": ISSUER, "aud": AUDIENCE, "exp": 9999999999}
    header = b64({"alg": "HS256", "typ": "JWT", "kid": "city-idp-1"})
    signing_input = f"{header}.{b64(claims)}".encode()
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    confused = f"{signing_input.decode()}.{signature.decode()}"
    with pytest.raises(jwt.InvalidAlgorithmError):
        await TokenVerifier(production(idp)).verify(confused)
    assert idp.requests == 0, "refused before any key was looked up"


async def test_a_locally_minted_token_is_refused_when_the_services_trust_the_provider(idp: IdentityProvider) -> None:
    local = jwt.encode({"sub": "x", "roles": ["coordinator"], "exp": 9999999999}, "s" * 40, algorithm="HS256")
    with pytest.raises(jwt.InvalidAlgorithmError):
        await TokenVerifier(production(idp, auth_jwt_secret="s" * 40)).verify(local)


def test_a_jwks_url_without_issuer_and_audience_stops_start_up_naming_them(
    idp: IdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETMALMO_AUTH_JWKS_URL", idp.url)
    with pytest.raises(ConfigError) as error:
        load_settings(PlatformSettings)
    assert "MEETMALMO_AUTH_ISSUER" in str(error.value) and "MEETMALMO_AUTH_AUDIENCE" in str(error.value)
    monkeypatch.setenv("MEETMALMO_AUTH_ISSUER", ISSUER)
    with pytest.raises(ConfigError) as error:
        load_settings(PlatformSettings)
    assert "MEETMALMO_AUTH_AUDIENCE" in str(error.value) and "MEETMALMO_AUTH_ISSUER" not in str(error.value)
    monkeypatch.setenv("MEETMALMO_AUTH_AUDIENCE", AUDIENCE)
    assert load_settings(PlatformSettings).auth_audience == AUDIENCE


async def test_the_keys_are_fetched_once_and_a_rotated_key_is_fetched_when_first_seen(idp: IdentityProvider) -> None:
    verifier = TokenVerifier(production(idp, auth_jwks_refresh_seconds=0))
    for _ in range(3):
        await verifier.verify(idp_token())
    assert idp.requests == 1, "cached"
    idp.keys = [jwk(KEY, "city-idp-1"), jwk(ROTATED, "city-idp-2")]
    assert (await verifier.verify(idp_token(key=ROTATED, kid="city-idp-2"))).subject == "eva"
    assert idp.requests == 2


async def test_unknown_key_ids_refetch_the_keys_at_most_once_per_refresh_period(idp: IdentityProvider) -> None:
    verifier = TokenVerifier(production(idp, auth_jwks_refresh_seconds=3600))
    await verifier.verify(idp_token())
    for n in range(20):  # junk key ids cannot make the service hammer the provider
        with pytest.raises(jwt.InvalidKeyError):
            await verifier.verify(idp_token(kid=f"junk-{n}"))
    assert idp.requests == 1


async def test_a_hanging_identity_provider_does_not_block_the_event_loop(idp: IdentityProvider) -> None:
    idp.delay = 2.0  # longer than the 1 s timeout
    verifier = TokenVerifier(production(idp))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        with pytest.raises(IdentityProviderUnavailable):
            await verifier.verify(idp_token())
    finally:
        ticker.cancel()
    assert ticks >= 5, "the loop kept running while the provider was asked"


async def test_staff_routes_answer_503_while_the_provider_is_down_and_other_routes_keep_working(
    idp: IdentityProvider,
) -> None:
    idp.down = True
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(production(idp))

    @app.post("/decide")
    async def decide(staff: CoordinatorDep) -> dict[str, str]:
        return {"by": staff.subject}

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"status": "ok"}

    headers = {"Authorization": f"Bearer {idp_token()}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        refused = await client.post("/decide", headers=headers)
        assert refused.status_code == 503 and "Retry-After" in refused.headers
        assert (await client.get("/public")).status_code == 200
        assert (await client.post("/decide")).status_code == 401, "no token is still 401"
        idp.down = False
        app.state.token_verifier = TokenVerifier(production(idp))  # (a fresh process, not the 5 s back-off)
        assert (await client.post("/decide", headers=headers)).json() == {"by": "eva"}


def test_the_asyncapi_document_names_every_topic_and_event() -> None:
    document = json.loads(asyncapi_json())
    text = json.dumps(document)
    for topic in Topic:
        assert topic.value in text and f"{topic.value}.dlq" in text
    for event_type in Event._registry:
        assert event_type in text
