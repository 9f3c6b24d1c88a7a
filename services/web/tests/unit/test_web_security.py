"""The console's security as ASVS level 2 asks: headers on every page, CSRF on every POST, sessions
that are encrypted and expire, sign-in that rotates the session and never redirects off the site."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from fastapi.routing import APIRoute

from services.web import pages
from services.web.pages import links
from services.web.pages.staff_auth import safe_next
from services.web.security import HEADERS
from services.web.sessions import CSRF_FIELD, FernetSigner, verify_csrf
from services.web.tests.conftest import FakeServices, csrf_of, web_settings

PUBLIC_PAGES = ["/", "/initiatives/new", "/resources/new", "/accessibility", "/staff/sign-in"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
async def test_every_page_carries_the_security_headers(browser_client: httpx.AsyncClient, path: str) -> None:
    page = await browser_client.get(path)
    assert page.status_code == 200
    for name, value in HEADERS.items():
        assert page.headers[name] == value
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.text and " style=" not in page.text and " on" + "click=" not in page.text


async def test_private_pages_are_not_cached_or_indexed(browser_client: httpx.AsyncClient) -> None:
    page = await browser_client.get("/staff/sign-in")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Robots-Tag"] == "noindex"


def post_paths() -> list[str]:
    return [
        re.sub(r"\{[^}]+\}", "x", route.path)
        for router in pages.ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]


def test_every_page_router_checks_the_csrf_token_but_the_one_click_unsubscribe() -> None:
    """The single exception is RFC 8058's one-click unsubscribe, which a mail client posts with no session: its
    router holds that one route, bound to the link's token, and it checks CSRF itself for any other body."""
    unchecked = [r for r in pages.ROUTERS if not any(d.dependency is verify_csrf for d in r.dependencies)]
    assert unchecked == [links.one_click]
    assert [(route.path, route.methods) for route in links.one_click.routes if isinstance(route, APIRoute)] == [
        ("/unsubscribe/{token}", {"POST"})
    ]


async def test_every_post_without_the_token_is_refused_and_changes_nothing(
    browser_client: httpx.AsyncClient, fake: FakeServices
) -> None:
    paths = post_paths()
    assert "/initiatives/new" in paths and "/staff/sign-in" in paths
    for path in paths:
        answer = await browser_client.post(path, data={"name": "Eva", "email": "eva@malmo.se", "role": "coordinator"})
        assert answer.status_code == 403, path
    assert fake.calls == []  # no service was asked to do anything
    assert "Logga ut" not in (await browser_client.get("/")).text


async def test_the_session_cookie_is_encrypted_httponly_and_samesite_lax(browser_client: httpx.AsyncClient) -> None:
    form = await browser_client.get("/staff/sign-in")
    cookie = form.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    value = browser_client.cookies["meetmalmo_session"]
    assert CSRF_FIELD not in value and csrf_of(form) not in value  # not readable, unlike a signed-only cookie


async def test_signing_in_makes_a_new_session_and_signing_out_ends_it(browser_client: httpx.AsyncClient) -> None:
    form = await browser_client.get("/staff/sign-in")
    before = browser_client.cookies["meetmalmo_session"]
    signed_in = await browser_client.post(
        "/staff/sign-in",
        data={"csrf_token": csrf_of(form), "name": "Eva", "email": "eva@malmo.se", "role": "coordinator", "next": "/x"},
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/x"
    assert browser_client.cookies["meetmalmo_session"] != before
    page = await browser_client.get("/")
    assert "Logga ut" in page.text
    out = await browser_client.post("/staff/sign-out", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 303
    assert "Logga ut" not in (await browser_client.get("/")).text


@pytest.mark.parametrize("given", ["//evil.example/x", "https://evil.example", "/\\evil.example", "", None])
def test_after_sign_in_the_next_page_is_always_on_this_site(given: str | None) -> None:
    assert safe_next(given) == "/staff"


def test_the_local_sign_in_is_refused_whenever_real_oidc_is_configured() -> None:
    assert web_settings().local_sign_in
    assert not web_settings(oidc_issuer="https://login.malmo.se/realms/staff").local_sign_in


def test_an_old_or_foreign_session_cookie_is_not_accepted() -> None:
    signer = FernetSigner("s" * 40)
    token = signer.sign(b"{}")
    assert signer.unsign(token, max_age=60) == b"{}"
    with pytest.raises(Exception, match="not ours"):
        FernetSigner("t" * 40).unsign(token, max_age=60)
    time.sleep(1.1)
    with pytest.raises(Exception, match="expired"):
        signer.unsign(token, max_age=0)
