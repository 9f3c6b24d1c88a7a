"""Security rules of the platform as a whole: no weak secret outside local mode, ..."""

from __future__ import annotations

import base64
import importlib
import ipaddress
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from services.web.settings import Settings as WebSettings
from shared.auth import DEVELOPMENT_SECRET, issue_local_token
from shared.cli import app as cli
from shared.settings import DEVELOPMENT_LINK_SECRET, ConfigError, PlatformSettings
from shared.testing import query

SERVICES = ("intake", "resources", "matching", "notifications")
STRONG = "9f2c1e7a4b3d8f60a1c5e9b2d7f4a3c8e1b6d0f9"


def _web_with(service: Callable[[httpx.Request], httpx.Response], tmp_path: Path) -> httpx.ASGITransport:
    """The web app in process, in local mode, whose calls to the services `service` answers."""
    from services.web.bootstrap import create_app, services_of

    settings = WebSettings(session_secret=STRONG, platform=PlatformSettings(environment="local", var_dir=tmp_path))
    return httpx.ASGITransport(app=create_app(settings, services_of(settings, httpx.MockTransport(service))))


runner = CliRunner()


def service_settings(service: str, **fields: Any) -> Any:
    return importlib.import_module(f"services.{service}.settings").Settings(
        database_url="sqlite+aiosqlite:///:memory:", **fields
    )


def create(service: str, settings: Any) -> Any:
    return importlib.import_module(f"services.{service}.bootstrap").create_app(settings)


def create_web(settings: WebSettings) -> Any:
    """The web on services that never answer (nothing listens on port 9)."""
    from services.web.bootstrap import create_app, services_of

    unanswered = settings.model_copy(update={f"{n}_url": "http://127.0.0.1:9" for n in SERVICES})
    return create_app(unanswered, services_of(unanswered))


# --- secrets ---------------------------------------------------------------------------------------


def test_production_is_the_default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEETMALMO_ENVIRONMENT", raising=False)
    assert PlatformSettings().environment == "production"


@pytest.mark.parametrize("service", SERVICES)
def test_outside_local_mode_a_service_refuses_to_start_without_its_secrets_naming_each(service: str) -> None:
    settings = service_settings(service, platform=PlatformSettings(environment="production"))
    with pytest.raises(ConfigError) as error:
        create(service, settings)
    assert "MEETMALMO_AUTH_JWT_SECRET" in str(error.value)
    assert f"{service.upper()}_LINK_SECRET" in str(error.value), "the public default link secret is refused"
    # The profile link's key: needed by the service that signs it (notifications) and the one verifying it.
    needs_profile_link = service in {"resources", "notifications"}
    assert ("MEETMALMO_PROFILE_LINK_SECRET: required outside local mode" in str(error.value)) is needs_profile_link


@pytest.mark.parametrize("service", ["resources", "notifications"])
@pytest.mark.parametrize(
    ("secret", "why"),
    [
        (None, "required outside local mode"),
        ("meetmalmo-local-profile-link-secret-change-me", "well-known"),
        ("change-me-to-a-long-random-secret-of-32-chars", "well-known"),
        ("ab" * 20, "trivial"),
        ("short", "at least 32"),
    ],
)
def test_outside_local_mode_a_missing_or_weak_profile_link_secret_is_refused(
    service: str, secret: str | None, why: str
) -> None:
    platform = PlatformSettings.model_construct(**(PlatformSettings(environment="production", auth_jwt_secret=STRONG)
                                                   .model_dump() | {"profile_link_secret": secret}))  # fmt: skip
    with pytest.raises(ConfigError, match=f"MEETMALMO_PROFILE_LINK_SECRET: .*{why}"):
        create(service, service_settings(service, link_secret=STRONG[::-1], platform=platform))


def test_a_short_profile_link_secret_is_refused_when_the_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.resources.settings import Settings as ResourcesSettings
    from shared.settings import load_settings

    monkeypatch.setenv("MEETMALMO_PROFILE_LINK_SECRET", "too-short")
    with pytest.raises(ConfigError, match="MEETMALMO_PROFILE_LINK_SECRET"):
        load_settings(ResourcesSettings)


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("short-secret", "at least 32"),
        (DEVELOPMENT_SECRET, "well-known"),
        ("change-me-to-a-long-random-secret-of-32-chars", "well-known"),
        (DEVELOPMENT_LINK_SECRET, "well-known"),
        ("a" * 40, "trivial"),
    ],
)
def test_outside_local_mode_a_short_or_well_known_secret_is_refused(secret: str, why: str) -> None:
    settings = service_settings(
        "intake",
        link_secret=STRONG,
        # The field's own minimum (32) already refuses a short one at load time; this checks the start-up rule too.
        platform=PlatformSettings.model_construct(**(PlatformSettings(environment="production").model_dump()
                                                     | {"auth_jwt_secret": secret})),
    )  # fmt: skip
    with pytest.raises(ConfigError, match=f"MEETMALMO_AUTH_JWT_SECRET: .*{why}"):
        create("intake", settings)


@pytest.mark.parametrize("service", SERVICES)
def test_outside_local_mode_a_service_starts_with_strong_secrets(service: str) -> None:
    platform = PlatformSettings(environment="production", auth_jwt_secret=STRONG, profile_link_secret=STRONG[1:] + "z")
    assert create(service, service_settings(service, link_secret=STRONG[::-1], platform=platform)) is not None


def test_in_local_mode_the_development_defaults_work(tmp_path: Any) -> None:
    platform = PlatformSettings(environment="local", var_dir=tmp_path)
    assert create("intake", service_settings("intake", platform=platform)) is not None
    assert create("web", WebSettings(platform=platform)).state.settings.local_sign_in


def test_outside_local_mode_the_web_needs_a_strong_session_secret_and_the_identity_provider() -> None:
    settings = WebSettings(platform=PlatformSettings(environment="production"))
    with pytest.raises(ConfigError) as error:
        create("web", settings)
    assert "WEB_SESSION_SECRET" in str(error.value) and "WEB_OIDC_ISSUER" in str(error.value)
    configured = WebSettings(
        session_secret=STRONG,
        oidc_issuer="https://login.malmo.se/realms/staff",
        oidc_client_id="meetmalmo",
        oidc_client_secret="from-the-identity-provider",
        platform=PlatformSettings(environment="production"),
    )
    assert not create("web", configured).state.settings.local_sign_in


def test_outside_local_mode_the_web_needs_its_client_id_and_secret_at_the_identity_provider() -> None:
    settings = WebSettings(
        session_secret=STRONG,
        oidc_issuer="https://login.malmo.se/realms/staff",
        platform=PlatformSettings(environment="production"),
    )
    with pytest.raises(ConfigError) as error:
        create("web", settings)
    assert "WEB_OIDC_CLIENT_ID" in str(error.value) and "WEB_OIDC_CLIENT_SECRET" in str(error.value)


def test_outside_local_mode_the_web_never_offers_the_local_sign_in() -> None:
    settings = WebSettings(session_secret=STRONG, platform=PlatformSettings(environment="production"))
    assert not settings.local_sign_in, "it would let anyone pick the coordinator role"


def test_serve_outside_local_mode_without_secrets_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETMALMO_ENVIRONMENT", "production")
    monkeypatch.delenv("MEETMALMO_AUTH_JWT_SECRET", raising=False)
    monkeypatch.setenv("INTAKE_DATABASE_URL", "sqlite+aiosqlite:///:memory:")
    result = runner.invoke(cli, ["serve", "intake"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "MEETMALMO_AUTH_JWT_SECRET" in lines[0] and "INTAKE_LINK_SECRET" in lines[0]
    assert "Traceback" not in result.output


def test_no_token_is_minted_with_the_development_secret_outside_local_mode() -> None:
    with pytest.raises(ConfigError, match="MEETMALMO_AUTH_JWT_SECRET"):
        issue_local_token(PlatformSettings(environment="production"), email="eva@malmo.se", roles=["coordinator"])


# --- every staff route checks the role -------------------------------------------------------------

# The routes anyone may call. A new route is a staff route unless it is added here, so one that
# forgets its role check fails the audit below.
OPERATIONS = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
API_DOCS = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")}
PUBLIC_ROUTES: dict[str, set[tuple[str, str]]] = {
    "intake": OPERATIONS | API_DOCS | {
        ("GET", "/api/v1/taxonomy"),
        ("POST", "/api/v1/initiatives"),  # the portal's form
        ("GET", "/api/v1/my/initiatives/{token}"),  # behind the originator's signed link
        ("POST", "/api/v1/my/initiatives/{token}/answer"),
        ("POST", "/api/v1/my/initiatives/{token}/withdraw"),
        ("POST", "/api/v1/my/initiatives/link-requests"),  # a new status link: the same answer for every pair
    },
    "resources": OPERATIONS | API_DOCS | {
        ("GET", "/api/v1/taxonomy"),
        ("POST", "/api/v1/resources"),  # self-registration (double opt-in)
        ("GET", "/api/v1/confirmations/{token}"),
        ("POST", "/api/v1/confirmations/{token}"),
        ("GET", "/api/v1/my/profile/{token}"),
        ("PUT", "/api/v1/my/profile/{token}"),
        ("POST", "/api/v1/my/profile/{token}/pause"),
        ("POST", "/api/v1/my/profile/{token}/resume"),
        ("POST", "/api/v1/my/profile/{token}/withdraw"),
        ("GET", "/api/v1/my/profile/{token}/export"),
        ("DELETE", "/api/v1/my/profile/{token}"),
        ("POST", "/api/v1/my/profile/link-requests"),  # send me a new link: the same answer for every address
        ("POST", "/api/v1/my/profile/{token}/renew-link"),
    },
    "matching": OPERATIONS | API_DOCS | {
        ("GET", "/api/v1/taxonomy"),
        ("GET", "/api/v1/invitations/{token}"),
        ("POST", "/api/v1/invitations/{token}"),
        ("POST", "/api/v1/invitations/{token}/new-link"),  # the invitation again, to the invited member only
    },
    "notifications": OPERATIONS | API_DOCS | {
        ("GET", "/api/v1/unsubscribe/{token}"),
        ("POST", "/api/v1/unsubscribe/{token}"),
    },
}  # fmt: skip
# The console's GET pages that are a coordinator's form (operators only read): refused to operators too.
WEB_COORDINATOR_FORMS = {"/staff/initiatives/new", "/staff/resources/new",
                         "/staff/groups/{group_id}/members/{resource_id}/swap"}  # fmt: skip
WEB_STAFF_PUBLIC = {("GET", "/staff/sign-in"), ("POST", "/staff/sign-in"), ("GET", "/staff/auth/callback"),
                    ("POST", "/staff/sign-out")}  # fmt: skip


def routes_of(application: Any) -> list[tuple[str, str]]:
    """(method, path) of every HTTP route of the app, also those of included routers."""
    found: list[tuple[str, str]] = []
    for route in application.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for context in contexts:
            found += [(method, context.path) for method in sorted(getattr(context, "methods", None) or ()) if
                      method != "HEAD"]  # fmt: skip
    return found


def filled(path: str) -> str:
    """The path with each parameter filled in (an id, or a token that is not one)."""
    return re.sub(r"\{[^}]+\}", lambda m: "not-a-token" if m.group(0) == "{token}" else str(uuid.uuid4()), path)


def bearer(*roles: str) -> dict[str, str]:
    platform = PlatformSettings(environment="local", auth_jwt_secret=STRONG)
    return {"Authorization": f"Bearer {issue_local_token(platform, email='someone@malmo.se', roles=list(roles))}"}


@pytest.mark.parametrize("service", SERVICES)
async def test_every_staff_route_of_every_service_answers_401_without_a_token_and_403_with_the_wrong_role(
    service: str, tmp_path: Any
) -> None:
    platform = PlatformSettings(environment="local", auth_jwt_secret=STRONG, var_dir=tmp_path)
    application = create(service, service_settings(service, platform=platform))
    routes = routes_of(application)
    assert PUBLIC_ROUTES[service] <= set(routes), "the allow-list names only routes that exist"
    staff_routes = [route for route in routes if route not in PUBLIC_ROUTES[service]]
    assert staff_routes, "every service has staff routes"
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        for method, path in staff_routes:
            url, body = filled(path), ({} if method in {"POST", "PUT", "PATCH"} else None)
            anonymous = await client.request(method, url, json=body)
            assert anonymous.status_code == 401, f"{method} {path} without a token: {anonymous.status_code}"
            no_role = await client.request(method, url, json=body, headers=bearer("originator"))
            assert no_role.status_code == 403, f"{method} {path} without a staff role: {no_role.status_code}"
            if method != "GET":  # operators watch; only coordinators change anything
                operator = await client.request(method, url, json=body, headers=bearer("operator"))
                assert operator.status_code == 403, f"{method} {path} as an operator: {operator.status_code}"


def web_session(secret: str, *roles: str) -> str:
    """The web's encrypted session cookie of a signed-in staff member with `roles` (and its CSRF token)."""
    from services.web.sessions import CSRF_FIELD, FernetSigner

    session = {
        "staff": {"name": "Someone", "email": "someone@malmo.se", "roles": list(roles), "token": "t"},
        "seen": int(time.time()),
        CSRF_FIELD: "csrf-of-the-session",
    }
    return FernetSigner(secret).sign(base64.b64encode(json.dumps(session).encode())).decode()


async def test_every_staff_page_of_the_web_sends_strangers_to_sign_in_and_refuses_the_wrong_role(
    tmp_path: Any,
) -> None:
    settings = WebSettings(session_secret=STRONG, platform=PlatformSettings(environment="local", var_dir=tmp_path))
    # No service answers: a page that got past its role check would fail with 503, not 403.
    application = create_web(settings)
    staff_pages = [r for r in routes_of(application) if r[1].startswith("/staff") and r not in WEB_STAFF_PUBLIC]
    assert len(staff_pages) > 10
    transport = httpx.ASGITransport(app=application)
    csrf = {"X-CSRF-Token": "csrf-of-the-session"}
    for method, path in staff_pages:
        url = filled(path)
        async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
            stranger = await client.request(method, url)
        if method == "GET":
            assert stranger.status_code == 303, f"GET {path} without a session: {stranger.status_code}"
            assert stranger.headers["location"].startswith("/staff/sign-in?next="), path
        else:  # a POST without the session's CSRF token is refused before anything else
            assert stranger.status_code == 403, f"{method} {path} without a session: {stranger.status_code}"
        operator_refused = method != "GET" or path in WEB_COORDINATOR_FORMS
        for roles, refused in ((("originator",), True), (("operator",), operator_refused)):
            cookies = {"meetmalmo_session": web_session(STRONG, *roles)}
            async with httpx.AsyncClient(transport=transport, base_url="http://web.test", cookies=cookies) as client:
                answer = await client.request(method, url, headers=csrf)
            if refused:
                assert answer.status_code == 403, f"{method} {path} as {roles}: {answer.status_code}"
            else:
                assert answer.status_code != 403, f"{method} {path} as {roles}: operators may read it"


# --- rate limits shared by the replicas, keyed on the visitor as trusted proxies name it ---------------


def intake_app(database_url: str, limit: str, trusted_proxies: list[str]) -> Any:
    platform = PlatformSettings(environment="local", trusted_proxies=trusted_proxies, kafka_bootstrap="127.0.0.1:1")
    return create("intake", service_settings("intake", platform=platform) .model_copy(
        update={"database_url": database_url, "public_rate_limit": limit}))  # fmt: skip


async def submit(application: Any, peer: str, forwarded_for: str | None = None) -> int:
    """One portal submission (an empty body: counted, then refused with 422) from `peer`; its status."""
    transport = httpx.ASGITransport(app=application, client=(peer, 40000))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        return (await client.post("/api/v1/initiatives", json={}, headers=headers)).status_code


async def test_two_replicas_on_one_database_count_into_one_bucket(service_database: Any) -> None:
    database_url = await service_database("intake")
    one, two = (intake_app(database_url, "3/minute", ["10.0.0.0/8"]) for _ in range(2))
    try:
        answers = [await submit(replica, "198.51.100.7") for replica in (one, two, one, two)]
        assert answers == [422, 422, 422, 429], "the fourth request within the minute, whichever replica"
        assert await submit(two, "198.51.100.8") == 422, "another visitor has a bucket of their own"
    finally:
        for replica in (one, two):
            await replica.state.infra.engine.dispose()


async def test_x_forwarded_for_counts_only_when_a_trusted_proxy_sends_it(service_database: Any) -> None:
    database_url = await service_database("intake")
    application = intake_app(database_url, "2/minute", ["10.0.0.0/8"])
    try:
        # An untrusted peer that makes up a new X-Forwarded-For each time still counts as itself.
        spoofed = [await submit(application, "203.0.113.9", f"192.0.2.{n}") for n in range(3)]
        assert spoofed == [422, 422, 429]
        # Through the trusted proxy (the web, an ingress), each visitor is counted on their own.
        proxied = [await submit(application, "10.1.2.3", f"192.0.2.{n}, 10.1.9.9") for n in range(3)]
        assert proxied == [422, 422, 422]
        assert [await submit(application, "10.1.2.3", "192.0.2.0") for _ in range(2)] == [422, 429]
    finally:
        await application.state.infra.engine.dispose()


async def _rate_limit_table(backend: str, service_database: Any, tmp_path: Path) -> tuple[Any, Any]:
    """An engine on a fresh PostgreSQL database or SQLite file, and the rate limit's table created in it."""
    from sqlalchemy import MetaData

    from shared.db import create_engine
    from shared.ratelimit import define_rate_limit_table

    if backend == "postgresql":
        engine = create_engine(await service_database("intake"))
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}")
    table = define_rate_limit_table(MetaData())
    async with engine.begin() as connection:
        await connection.run_sync(table.metadata.create_all)
    return engine, table


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_a_hit_is_counted_in_one_statement_and_concurrent_hits_are_all_counted(
    service_database: Any, tmp_path: Path, backend: str
) -> None:
    """The limiter costs one statement per request (the upsert returns the previous window's count too;
    the purge of old windows aside), and 40 hits at once from one client are 40, never fewer."""
    import asyncio

    from fastapi import HTTPException
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from shared.ratelimit import RateLimiter

    engine, table = await _rate_limit_table(backend, service_database, tmp_path)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    if backend == "postgresql":  # the count goes to asyncpg as compiled once (shared.db.DriverStatement): ask it too

        def logged(query: Any) -> None:
            statements.append(query.query)

        def log_on_the_driver(connection: Any, *_: Any) -> None:
            connection.driver_connection.add_query_logger(logged)

        event.listen(engine.sync_engine, "checkout", log_on_the_driver)
    now = [1_000_030.0]
    limiter = RateLimiter("40/minute", async_sessionmaker(engine, expire_on_commit=False), table, clock=lambda: now[0])
    try:
        await limiter.check("intake:submit", "198.51.100.7")  # the first of a window also purges
        statements.clear()
        await limiter.check("intake:submit", "198.51.100.7")
        counted = [sql for sql in statements if not sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "SELECT 1"))]
        assert len(counted) == 1 and counted[0].lstrip().upper().startswith("INSERT"), counted
        await asyncio.gather(*(limiter.check("intake:submit", "198.51.100.7") for _ in range(38)))
        with pytest.raises(HTTPException) as refused:
            await limiter.check("intake:submit", "198.51.100.7")
        assert refused.value.status_code == 429, "the 41st hit of the window"
        # Early in the next window the previous one, read in the same statement, still weighs in
        # (41 x 0.9 overlap = 36.9): three more hits fit under 40, the fourth does not.
        now[0] = 1_000_086.0
        for _ in range(3):
            await limiter.check("intake:submit", "198.51.100.7")
        with pytest.raises(HTTPException):
            await limiter.check("intake:submit", "198.51.100.7")
        await limiter.check("intake:submit", "198.51.100.8")  # another client has a bucket of its own
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_a_database_that_cannot_count_lets_the_request_through(
    service_database: Any, tmp_path: Path, backend: str
) -> None:
    """Rather than refusing everyone: the count fails (here its table is gone) and the request goes on (logged
    as ratelimit.unavailable)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from shared.ratelimit import RateLimiter

    engine, table = await _rate_limit_table(backend, service_database, tmp_path)
    limiter = RateLimiter("1/minute", async_sessionmaker(engine, expire_on_commit=False), table)
    try:
        await limiter.check("intake:submit", "198.51.100.7")
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE rate_limit_counters"))
        await limiter.check("intake:submit", "198.51.100.7")  # the second of a 1/minute limit, and not refused
    finally:
        await engine.dispose()


def test_serve_has_uvicorn_believe_forwarded_headers_only_from_the_trusted_proxies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    monkeypatch.setenv("MEETMALMO_TRUSTED_PROXIES", '["10.0.0.0/8", "127.0.0.1"]')
    monkeypatch.setenv("INTAKE_DATABASE_URL", "sqlite+aiosqlite:///:memory:")
    assert runner.invoke(cli, ["serve", "intake"]).exit_code == 0
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "10.0.0.0/8,127.0.0.1/32"


# --- what the public pages show ----------------------------------------------------------------------


def test_the_originators_status_page_names_no_staff_member() -> None:
    from services.intake.schemas.views import OriginatorView
    from services.intake.tests.factories import NOW, new_initiative

    initiative = new_initiative()
    initiative.assign_lead("eva.coordinator@malmo.se", "eva.coordinator@malmo.se", NOW)
    initiative.request_info("eva.coordinator@malmo.se", "Vilka företag?", NOW)
    initiative.answer("Skanska och NCC", NOW)
    initiative.reject("olle.coordinator@malmo.se", "Utanför uppdraget", NOW)
    shown = OriginatorView.from_domain(initiative).model_dump_json()
    assert "malmo.se" not in shown, "no coordinator's email on the public page"
    assert [(step.actor, step.action) for step in OriginatorView.from_domain(initiative).history] == [
        ("originator", "submit"), ("coordinator", "request_info"), ("originator", "answer"),
        ("coordinator", "reject"),
    ]  # fmt: skip
    assert "Utanför uppdraget" in shown, "the reason given is the originator's to read"


# --- private links expire ----------------------------------------------------------------------------


def test_a_link_older_than_its_lifetime_is_expired_while_a_forged_one_stays_invalid() -> None:
    from datetime import timedelta

    from shared.links import ExpiredLink, InvalidLink, PrivateLink

    now = [1_800_000_000.0]
    link = PrivateLink("https://meetmalmo.se", STRONG, purpose="p", path="my", max_age=timedelta(days=30),
                       clock=lambda: now[0])  # fmt: skip
    token = link.token(uuid.UUID(int=7))
    now[0] += 29 * 86400
    assert link.read_id(token) == uuid.UUID(int=7), "still within its lifetime"
    now[0] += 2 * 86400
    with pytest.raises(ExpiredLink):
        link.read_id(token)
    with pytest.raises(InvalidLink):
        link.read_id(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])


def test_a_versioned_link_names_its_version_and_a_link_of_the_id_alone_is_version_0() -> None:
    from shared.links import ExpiredLink, InvalidLink, PrivateLink, ReplacedLink, VersionedLink, check_version

    link = VersionedLink("https://meetmalmo.se", STRONG, purpose="p", path="my")
    subject = uuid.UUID(int=7)
    assert link.read_versioned(link.versioned_token(subject, 3)) == (subject, 3)
    assert link.versioned_token(subject, 0) == link.token(subject), "version 0 is the link sent before versions"
    assert link.read_versioned(link.token(subject)) == (subject, 0)
    assert link.versioned_url(subject, 2).startswith("https://meetmalmo.se/my/")
    with pytest.raises(InvalidLink):
        link.read_versioned(link.token(subject, "two"))
    with pytest.raises(InvalidLink):  # another purpose's link, same subject and secret
        link.read_versioned(PrivateLink("https://meetmalmo.se", STRONG, purpose="q", path="my").token(subject, 1))
    check_version(3, 3)
    with pytest.raises(ReplacedLink):
        check_version(2, 3)
    assert issubclass(ReplacedLink, ExpiredLink), "a replaced link is gone (410) like an expired one"


def test_an_expired_link_can_still_be_read_to_send_a_new_one_but_a_forged_one_cannot() -> None:
    from datetime import timedelta

    from shared.links import ExpiredLink, InvalidLink, PrivateLink

    now = [1_800_000_000.0]
    link = PrivateLink("https://meetmalmo.se", STRONG, purpose="p", path="my", max_age=timedelta(days=30),
                       clock=lambda: now[0])  # fmt: skip
    token = link.token(uuid.UUID(int=7), "accept")
    now[0] += 31 * 86400
    with pytest.raises(ExpiredLink):
        link.read(token, parts=2)
    assert link.read_at_any_age(token, parts=2) == [str(uuid.UUID(int=7)), "accept"]
    with pytest.raises(InvalidLink):
        link.read_at_any_age(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], parts=2)


def test_a_link_signed_with_the_previous_key_still_verifies_while_new_links_are_signed_with_the_new_one() -> None:
    from shared.links import InvalidLink, VersionedLink

    old_key, new_key = STRONG, "b" * 48
    subject = uuid.UUID(int=7)
    mailed_before = VersionedLink("https://meetmalmo.se", old_key, purpose="p", path="my").versioned_token(subject, 2)
    rotated = VersionedLink("https://meetmalmo.se", new_key, purpose="p", path="my", previous_secrets=[old_key])
    assert rotated.read_versioned(mailed_before) == (subject, 2), "a link mailed before the rotation keeps working"
    signed_now = rotated.versioned_token(subject, 3)
    new_only = VersionedLink("https://meetmalmo.se", new_key, purpose="p", path="my")
    assert new_only.read_versioned(signed_now) == (subject, 3), "new links are signed with the new key"
    with pytest.raises(InvalidLink):
        new_only.read_versioned(mailed_before)
    with pytest.raises(InvalidLink):  # the old key alone no longer reads the new links
        VersionedLink("https://meetmalmo.se", old_key, purpose="p", path="my").read_versioned(signed_now)


def test_the_profile_link_contract_is_the_one_resources_verifies_and_keeps_the_tokens_mailed_until_now() -> None:
    from services.resources.links import PrivateLinks
    from shared.contracts.links import profile_url
    from shared.links import InvalidLink, PrivateLink

    shared_key, old_key = STRONG, STRONG[::-1]  # MEETMALMO_PROFILE_LINK_SECRET, RESOURCES_LINK_SECRET
    resources = PrivateLinks("https://meetmalmo.se", old_key, previous_secrets=[old_key], profile_secret=shared_key)
    subject = uuid.UUID(int=7)
    for version in (0, 1, 4):
        url = profile_url("https://meetmalmo.se", shared_key, subject, version)  # as notifications signs it
        assert url.startswith("https://meetmalmo.se/my/profile/")
        assert resources.read_profile(url.rsplit("/", 1)[1]) == (subject, version)
    # Tokens signed the way resources signed them before (the id alone; its own key): they keep verifying.
    for signed_before in (
        PrivateLink("https://meetmalmo.se", old_key, purpose="resource-profile", path="my/profile").token(subject),
        profile_url("https://meetmalmo.se", old_key, subject, 3).rsplit("/", 1)[1],
    ):
        assert resources.read_profile(signed_before)[0] == subject
    assert resources.profile_url(subject, 0) == profile_url("https://meetmalmo.se", shared_key, subject, 0)
    # A key that is neither is refused.
    forged = profile_url("https://meetmalmo.se", "someone-elses-key-of-more-than-32-chars", subject, 0)
    with pytest.raises(InvalidLink):
        resources.read_profile(forged.rsplit("/", 1)[1])


def aged(link_class: Any, *parts: Any, days: int) -> str:
    """A token of `link_class` (a service's links) signed `days` ago with the tests' secret."""
    from datetime import timedelta

    from shared.links import PrivateLink

    signed_at = time.time() - days * 86400
    link = PrivateLink("http://web", STRONG, purpose=link_class, path="x", max_age=timedelta(days=3650),
                       clock=lambda: signed_at)  # fmt: skip
    return link.token(*parts)


@pytest.mark.parametrize(
    ("service", "purpose", "parts", "method", "path"),
    [
        ("intake", "initiative-status", (uuid.uuid4(),), "GET", "/api/v1/my/initiatives/{token}"),
        ("resources", "resource-profile", (uuid.uuid4(),), "GET", "/api/v1/my/profile/{token}"),
        ("matching", "group-invitation", (uuid.uuid4(), "accept"), "GET", "/api/v1/invitations/{token}"),
        ("notifications", "digest-unsubscribe", ("someone@malmo.se",), "GET", "/api/v1/unsubscribe/{token}"),
    ],
)
async def test_every_private_link_older_than_the_services_lifetime_answers_410(
    service: str, purpose: str, parts: tuple[Any, ...], method: str, path: str, tmp_path: Any
) -> None:
    platform = PlatformSettings(environment="local", var_dir=tmp_path)
    settings = service_settings(service, link_secret=STRONG, link_max_age_days=30, platform=platform)
    application = create(service, settings)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        answer = await client.request(method, path.format(token=aged(purpose, *parts, days=31)))
    assert answer.status_code == 410, answer.text
    assert answer.json()["state"] == "expired" and answer.headers["Cache-Control"] == "private, no-store"


async def test_the_web_says_an_expired_link_has_expired(tmp_path: Any) -> None:
    def intake(request: httpx.Request) -> httpx.Response:
        return httpx.Response(410, json={"detail": "this link has expired", "state": "expired"})

    transport = _web_with(intake, tmp_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
        page = await client.get("/my/initiatives/some-old-token", headers={"Accept-Language": "en"})
        swedish = await client.get("/my/initiatives/some-old-token", headers={"Accept-Language": "sv"})
    assert page.status_code == 410 and "This link has expired" in page.text
    assert "Länken har gått ut" in swedish.text and "näringslivsavdelning" in swedish.text


def test_in_compose_the_services_believe_forwarded_addresses_only_from_the_web() -> None:
    import yaml

    from shared.cli import SERVICES as SERVED

    compose = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())
    web_address = compose["services"]["web"]["networks"]["default"]["ipv4_address"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(web_address) in ipaddress.ip_network(subnet)
    for name in SERVED:
        trusted = json.loads(compose["services"][name]["environment"]["MEETMALMO_TRUSTED_PROXIES"])
        assert trusted == [web_address], name
    assert "MEETMALMO_TRUSTED_PROXIES" not in compose["services"]["web"]["environment"], "the web is the edge"


async def test_a_new_profile_link_goes_by_email_to_the_owner_and_the_answer_never_tells_who_is_registered(
    service_database: Any,
) -> None:
    from services.resources.tests.factories import profile

    database_url = await service_database("resources")
    platform = PlatformSettings(environment="local", auth_jwt_secret=STRONG, kafka_bootstrap="127.0.0.1:1")
    application = create("resources", service_settings("resources", platform=platform).model_copy(
        update={"database_url": database_url}))  # fmt: skip
    body = profile()
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://resources") as client:
            created = await client.post("/api/v1/resources/direct", json=body, headers=bearer("coordinator"))
            assert created.status_code == 201, created.text
            known = await client.post("/api/v1/my/profile/link-requests", json={"email": body["email"].upper()})
            unknown = await client.post("/api/v1/my/profile/link-requests", json={"email": "nobody@example.se"})
    finally:
        await application.state.infra.engine.dispose()
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json(), "the same answer whether the address is registered or not"
    rows = await query(database_url, "SELECT key FROM outbox WHERE event_type = 'ResourceProfileLinkRequested'")
    assert [row["key"] for row in rows] == [created.json()["id"]], "one email with the link, to the owner"


async def test_an_expired_profile_link_leads_to_a_page_that_sends_a_new_one_to_the_address_on_file(
    tmp_path: Any,
) -> None:
    asked: list[Any] = []

    def resources(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/my/profile/link-requests":
            asked.append(json.loads(request.content))
            return httpx.Response(202, json={"detail": "if this address is registered, its profile link is on its way"})
        return httpx.Response(410, json={"detail": "this link has expired", "state": "expired"})

    transport = _web_with(resources, tmp_path)
    english = {"Accept-Language": "en"}
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test", headers=english) as client:
        expired = await client.get("/my/profile/an-old-token")
        assert expired.status_code == 410 and 'href="/my/new-profile-link"' in expired.text
        form = await client.get("/my/new-profile-link")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert form.status_code == 200 and csrf
        sent = await client.post("/my/new-profile-link", data={"csrf_token": csrf.group(1), "email": "karl@skanska.se"})
        assert sent.status_code == 303
        done = await client.get(sent.headers["location"])
    assert asked == [{"email": "karl@skanska.se"}]
    assert "a new link to your profile is on its way" in done.text


async def test_renewing_the_profile_link_revokes_every_link_sent_before_and_emails_a_fresh_one(
    service_database: Any,
) -> None:
    from services.resources.tests.factories import profile
    from shared.contracts.links import profile_url
    from shared.links import PrivateLink

    database_url = await service_database("resources")
    platform = PlatformSettings(
        environment="local", auth_jwt_secret=STRONG, kafka_bootstrap="127.0.0.1:1", web_public_url="http://web"
    )
    application = create("resources", service_settings("resources", link_secret=STRONG, platform=platform)
                         .model_copy(update={"database_url": database_url}))  # fmt: skip

    async def profile_links(event_type: str) -> list[str]:
        """The tokens of the links the events' emails bring, signed as notifications signs them (the events
        name only the link's version)."""
        rows = await query(database_url, "SELECT envelope FROM outbox WHERE event_type = :t ORDER BY id", t=event_type)
        payloads = [json.loads(row["envelope"])["payload"] for row in rows]
        assert all(payload["profile_url"] is None for payload in payloads)
        return [
            profile_url(
                "http://web", platform.profile_link_key, uuid.UUID(p["resource_id"]), p["profile_link_version"]
            ).rsplit("/", 1)[1]
            for p in payloads
        ]

    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://resources") as client:
            created = await client.post("/api/v1/resources/direct", json=profile(), headers=bearer("coordinator"))
            resource_id = created.json()["id"]
            (first,) = await profile_links("ResourceRegistered")
            # Another link sent before (a never-renewed link names the resource alone, signed by resources with
            # RESOURCES_LINK_SECRET before the profile link had a key of its own): still good.
            legacy = PrivateLink("http://web", STRONG, purpose="resource-profile", path="my/profile").token(resource_id)
            for token in (first, legacy):
                assert (await client.get(f"/api/v1/my/profile/{token}")).status_code == 200

            renewed = await client.post(f"/api/v1/my/profile/{first}/renew-link")
            assert renewed.status_code == 202
            (fresh,) = await profile_links("ResourceProfileLinkRequested")
            for revoked in (first, legacy):  # 410 "replaced": the web's page says to use the newest email's link
                for answer in (
                    await client.get(f"/api/v1/my/profile/{revoked}"),
                    await client.post(f"/api/v1/my/profile/{revoked}/pause"),
                ):
                    assert (answer.status_code, answer.json()["state"]) == (410, "replaced")
            assert (await client.get(f"/api/v1/my/profile/{fresh}")).json()["id"] == resource_id
    finally:
        await application.state.infra.engine.dispose()


async def test_the_web_renews_a_profile_link_and_then_needs_no_token(tmp_path: Any) -> None:
    asked: list[str] = []

    def resources(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(202, json={"detail": "if this address is registered, its profile link is on its way"})

    transport = _web_with(resources, tmp_path)
    english = {"Accept-Language": "en"}
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test", headers=english) as client:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/my/new-profile-link")).text)
        assert csrf
        renewed = await client.post("/my/profile/the-token/renew-link", data={"csrf_token": csrf.group(1)})
        assert renewed.status_code == 303 and renewed.headers["location"] == "/my/new-profile-link"
        done = await client.get(renewed.headers["location"])
    assert asked == ["/api/v1/my/profile/the-token/renew-link"]
    assert "the old links no longer work" in done.text


async def test_a_replaced_status_link_leads_to_a_page_that_sends_a_new_one_and_never_says_whether_it_matched(
    tmp_path: Any,
) -> None:
    asked: list[Any] = []

    def intake(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/my/initiatives/link-requests":
            asked.append(json.loads(request.content))
            if not asked[-1]["reference"].startswith("MM-"):
                error = {"field": "reference", "reason": "String should match pattern"}
                return httpx.Response(422, json={"detail": "invalid request", "errors": [error]})
            return httpx.Response(202, json={"detail": "if that matches an initiative, it is on its way"})
        return httpx.Response(410, json={"detail": "a newer link was sent", "state": "replaced"})

    transport = _web_with(intake, tmp_path)
    english = {"Accept-Language": "en"}
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test", headers=english) as client:
        replaced = await client.get("/my/initiatives/an-old-token")
        assert replaced.status_code == 410 and "A newer link replaced this one" in replaced.text
        assert 'href="/my/new-status-link"' in replaced.text
        swedish = await client.get("/my/initiatives/an-old-token", headers={"Accept-Language": "sv"})
        assert "Länken har ersatts" in swedish.text
        form = await client.get("/my/new-status-link")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert form.status_code == 200 and csrf
        bad = {"csrf_token": csrf.group(1), "reference": "42", "email": "anna@acme.example"}
        refused = await client.post("/my/new-status-link", data=bad)
        assert refused.status_code == 422 and 'id="reference"' in refused.text and 'value="42"' in refused.text
        good = {"csrf_token": csrf.group(1), "reference": " MM-2026-0042 ", "email": "anna@acme.example"}
        sent = await client.post("/my/new-status-link", data=good)
        assert sent.status_code == 303
        done = await client.get(sent.headers["location"])
    assert asked[-1] == {"reference": "MM-2026-0042", "email": "anna@acme.example"}
    assert "If that matches an initiative, we have sent a new status link" in done.text


async def test_a_replaced_or_expired_unsubscribe_link_says_to_use_the_latest_digest_or_the_console(
    tmp_path: Any,
) -> None:
    def notifications(request: httpx.Request) -> httpx.Response:
        return httpx.Response(410, json={"detail": "a newer link was sent", "state": "replaced"})

    transport = _web_with(notifications, tmp_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
        page = await client.get("/unsubscribe/an-old-token", headers={"Accept-Language": "en"})
        one_click = await client.post("/unsubscribe/an-old-token", data={"List-Unsubscribe": "One-Click"})
        swedish = await client.get("/unsubscribe/an-old-token", headers={"Accept-Language": "sv"})
    assert page.status_code == one_click.status_code == 410
    assert "Use the link in your latest daily digest, or sign in to the console" in page.text
    assert 'href="/staff/sign-in"' in page.text
    assert "senaste dagliga sammanfattning" in swedish.text


async def test_an_expired_invitation_link_offers_a_new_one_and_a_closed_seat_says_where_it_stands(
    tmp_path: Any,
) -> None:
    asked: list[str] = []

    def matching(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/new-link"):
            asked.append(request.url.path)
            if "answered" in request.url.path:
                body = {"detail": "cannot send again", "current_status": "accepted", "action": "send again"}
                return httpx.Response(409, json=body)
            return httpx.Response(202, json={"detail": "the invitation is on its way again with fresh links"})
        return httpx.Response(410, json={"detail": "this link has expired", "state": "expired"})

    transport = _web_with(matching, tmp_path)
    english = {"Accept-Language": "en"}
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test", headers=english) as client:
        expired = await client.get("/invitations/an-old-token")
        assert expired.status_code == 410 and 'action="/invitations/an-old-token/new-link"' in expired.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', expired.text)
        assert csrf
        sent = await client.post("/invitations/an-old-token/new-link", data={"csrf_token": csrf.group(1)})
        closed = await client.post("/invitations/answered-token/new-link", data={"csrf_token": csrf.group(1)})
        swedish = await client.post("/invitations/an-old-token/new-link", data={"csrf_token": csrf.group(1)},
                                    headers={"Accept-Language": "sv"})  # fmt: skip
        forged = await client.post("/invitations/an-old-token/new-link", data={"csrf_token": "not-it"})
    assert sent.status_code == 200 and "on its way to your email again" in sent.text
    assert closed.status_code == 409 and "You have already accepted this invitation." in closed.text
    assert "inbjudan" in swedish.text.lower()
    assert forged.status_code == 403
    assert asked == ["/api/v1/invitations/an-old-token/new-link", "/api/v1/invitations/answered-token/new-link",
                     "/api/v1/invitations/an-old-token/new-link"]  # fmt: skip
