"""The signed-in staff member's session: an encrypted cookie (nothing kept on the server), expiring
when idle, rotated at sign-in; and the CSRF token every form carries."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import HTTPException, Request
from itsdangerous import BadSignature
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

CSRF_FIELD = "csrf_token"


class FernetSigner:
    """Encrypts and authenticates the session cookie (Starlette's signer only signs it)."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"meetmalmo-web-session").derive(
            secret.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def sign(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def unsign(self, data: bytes, max_age: int | None = None) -> bytes:
        try:
            return self._fernet.decrypt(data, ttl=max_age)
        except InvalidToken:
            raise BadSignature("the session cookie is not ours or has expired") from None


COOKIE_SECONDS = 12 * 3600  # a form left open over lunch still sends; staff sessions expire sooner (touch)


class EncryptedSessionMiddleware(SessionMiddleware):
    """Starlette's session middleware with an encrypted cookie (HttpOnly, SameSite=Lax, Secure over https)."""

    def __init__(self, app: ASGIApp, secret: str, *, secure: bool) -> None:
        super().__init__(
            app, secret, session_cookie="meetmalmo_session", max_age=COOKIE_SECONDS, same_site="lax", https_only=secure
        )
        self.signer = FernetSigner(secret)  # type: ignore[assignment]


def touch(request: Request, idle_seconds: int) -> bool:
    """Renew a signed-in session; false (and the session cleared) when it was idle too long."""
    session: dict[str, Any] = request.session
    now = int(time.time())
    if now - int(session.get("seen", now)) > idle_seconds:
        session.clear()
        return False
    session["seen"] = now
    return True


def csrf_token(request: Request) -> str:
    """The token the session's forms carry (made on first use)."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return str(token)


async def verify_csrf(request: Request) -> None:
    """Every POST carries the session's token in its form or in the X-CSRF-Token header (htmx)."""
    if request.method != "POST":
        return
    expected = request.session.get(CSRF_FIELD)
    sent = request.headers.get("X-CSRF-Token")
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise HTTPException(403, "This form has expired. Go back, reload the page and try again.")
