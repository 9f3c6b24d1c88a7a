"""Production token verification against a real JWKS endpoint, and the AsyncAPI document."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.asyncapi import asyncapi_json
from shared.auth import TokenVerifier
from shared.contracts import Event, Topic
from shared.settings import PlatformSettings

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "city-idp-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


def idp_token(**claims: Any) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": "eva",
        "email": "eva@malmo.se",
        "roles": ["coordinator"],
        "iss": "https://idp.malmo.se",
        "aud": "meetmalmo",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        **claims,
    }
    return jwt.encode(payload, KEY, algorithm="RS256", headers={"kid": "city-idp-1"})


def test_tokens_from_the_identity_provider_are_checked_against_its_jwks_issuer_and_audience(jwks_url: str) -> None:
    verifier = TokenVerifier(
        PlatformSettings(auth_jwks_url=jwks_url, auth_issuer="https://idp.malmo.se", auth_audience="meetmalmo")
    )
    staff = verifier.verify(idp_token())
    assert staff.email == "eva@malmo.se" and staff.roles == {"coordinator"}
    with pytest.raises(jwt.InvalidAudienceError):
        verifier.verify(idp_token(aud="another-app"))
    with pytest.raises(jwt.InvalidIssuerError):
        verifier.verify(idp_token(iss="https://evil.example"))
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.verify(idp_token(exp=datetime.now(UTC) - timedelta(minutes=1)))
    forged = jwt.encode(
        {"sub": "x", "exp": 9999999999}, "secret-" * 6, algorithm="HS256", headers={"kid": "city-idp-1"}
    )
    with pytest.raises(jwt.PyJWTError):
        verifier.verify(forged)


def test_the_asyncapi_document_names_every_topic_and_event() -> None:
    document = json.loads(asyncapi_json())
    text = json.dumps(document)
    for topic in Topic:
        assert topic.value in text and f"{topic.value}.dlq" in text
    for event_type in Event._registry:
        assert event_type in text
