"""Headers every page carries (OWASP ASVS level 2 as the yardstick): no inline script, no framing,
no sniffing, no referrer leaking private links; private pages are never cached or indexed."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Pages behind a private link or a sign-in: a shared computer's cache or a search engine must not keep them.
PRIVATE_PREFIXES = ("/my/", "/confirm/", "/invitations/", "/unsubscribe/", "/staff")
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers above to every response."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.extra = {"Strict-Transport-Security": "max-age=31536000; includeSubDomains"} if hsts else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith(PRIVATE_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**HEADERS, **self.extra, **(PRIVATE if private else {})}.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
