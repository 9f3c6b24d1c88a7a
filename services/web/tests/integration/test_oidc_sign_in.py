"""Staff sign-in through a real OpenID Connect provider: NAV's mock-oauth2-server (deploy/oidc, its jars
fetched once by deploy/oidc/fetch.sh), started by this module on a free port and stopped afterwards.

The web is configured as in production (WEB_OIDC_*), the intake service checks the provider's tokens
against its JWKS, issuer and audience (MEETMALMO_AUTH_*), and a plain httpx client plays the browser:
it follows the redirects to the provider's authorization endpoint, fills in its login form (subject
and claims), and is sent back to the web's callback, which fetches the tokens from the provider.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from services.web.bootstrap import create_app as create_web
from services.web.sessions import FernetSigner
from services.web.settings import Settings as WebSettings
from services.web.tests.conftest import csrf_of
from shared.auth import TokenVerifier, issue_local_token
from shared.settings import PROJECT_ROOT, PlatformSettings
from shared.testing import free_port, new_namespace, serve_in_thread

pytestmark = pytest.mark.integration

OIDC = PROJECT_ROOT / "deploy" / "oidc"
MAIN = "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"
ISSUER_ID = "malmo"
CLIENT_ID = "meetmalmo-web"
CLIENT_SECRET = "meetmalmo-web-client-secret"  # the mock provider accepts any secret
AUDIENCE = "meetmalmo-services"  # what the services require of an access token
SECRET = "web-oidc-tests-secret-of-at-least-32-characters"
START_SECONDS = 60.0
EVA = {"sub": "eva-1234", "email": "eva.coordinator@malmo.se", "name": "Eva Lind", "roles": ["coordinator"]}
OLLE = {"sub": "olle-5678", "email": "olle.operator@malmo.se", "name": "Olle Berg", "roles": ["operator"]}


def provider_config() -> dict[str, Any]:
    """Interactive login (a form taking a subject and claims); every token of the issuer is for the web
    (the ID token's audience, authorised party) and for the services (the access token's audience)."""
    every_grant = {
        "requestParam": "grant_type",
        "match": "*",
        "claims": {"aud": [CLIENT_ID, AUDIENCE], "azp": CLIENT_ID},
    }
    return {
        "interactiveLogin": True,
        "httpServer": "NettyWrapper",
        "tokenCallbacks": [{"issuerId": ISSUER_ID, "tokenExpiry": 600, "requestMappings": [every_grant]}],
    }


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    """The provider's issuer URL; the test fails (never skips) when it cannot be fetched or started."""
    java = shutil.which("java")
    if java is None:
        pytest.fail("'java' not found: install a JDK 17+ (.ci/run does: apt-get install openjdk-17-jdk-headless)")
    fetch = subprocess.run(["bash", str(OIDC / "fetch.sh")], capture_output=True, text=True, timeout=600, check=False)
    if fetch.returncode != 0:
        pytest.fail(f"fetching the OIDC provider's jars failed (deploy/oidc/fetch.sh):\n{fetch.stdout}{fetch.stderr}")
    port = free_port()
    env = {
        **os.environ,
        "SERVER_HOSTNAME": "127.0.0.1",
        "SERVER_PORT": str(port),
        "JSON_CONFIG": json.dumps(provider_config()),
        "LOG_LEVEL": "WARN",
    }
    with tempfile.TemporaryFile("w+") as log:
        provider = subprocess.Popen(
            [java, "-Xmx256m", "-cp", str(OIDC / "lib" / "*"), MAIN],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_until_alive(provider, f"http://127.0.0.1:{port}/isalive", log)
            yield f"http://127.0.0.1:{port}/{ISSUER_ID}"
        finally:
            provider.terminate()
            try:
                provider.wait(timeout=10)
            except subprocess.TimeoutExpired:
                provider.kill()
                provider.wait(timeout=10)


def wait_until_alive(provider: subprocess.Popen[bytes], url: str, log: Any) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if provider.poll() is not None:
            log.seek(0)
            pytest.fail(f"the OIDC provider exited ({provider.returncode}) while starting:\n{log.read()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        if time.monotonic() > deadline:
            log.seek(0)
            pytest.fail(f"the OIDC provider did not answer {url} within {START_SECONDS:.0f}s:\n{log.read()[-4000:]}")
        time.sleep(0.1)


@dataclass
class Site:
    web: str
    intake: str
    issuer: str
    platform: PlatformSettings  # how the services check tokens: the provider's JWKS, issuer, audience


@pytest.fixture
async def site(
    issuer: str, kafka_bootstrap: str, service_database: Callable[[str], Awaitable[str]]
) -> AsyncIterator[Site]:
    """Intake accepting the provider's tokens, and the web signing staff in with the provider."""
    platform = PlatformSettings(
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=new_namespace(),
        auth_jwks_url=f"{issuer}/jwks",
        auth_issuer=issuer,
        auth_audience=AUDIENCE,
    )
    intake = importlib.import_module("services.intake.bootstrap")  # by name: the web imports no service
    intake_settings = intake.Settings(
        database_url=await service_database("intake"), public_rate_limit="100000/minute", platform=platform
    )
    nowhere = f"http://127.0.0.1:{free_port()}"  # the other services are not needed here
    web_port = free_port()
    web = WebSettings(
        public_url=f"http://127.0.0.1:{web_port}",
        intake_url=nowhere,  # replaced below, once intake runs
        resources_url=nowhere,
        matching_url=nowhere,
        notifications_url=nowhere,
        service_timeout_seconds=2.0,
        session_secret=SECRET,
        oidc_issuer=issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        platform=platform,
    )
    with serve_in_thread(intake.create_app(intake_settings), free_port()) as intake_url:
        web = web.model_copy(update={"intake_url": intake_url})
        with serve_in_thread(create_web(web), web_port) as web_url:
            yield Site(web_url, intake_url, issuer, platform)


@contextlib.asynccontextmanager
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=True, timeout=10.0) as client:
        yield client


async def sign_in(
    client: httpx.AsyncClient, site: Site, claims: dict[str, Any], next_path: str = "/staff"
) -> httpx.Response:
    """Open a staff page, get sent to the provider, sign in there with `claims`, come back."""
    login = await client.get(f"{site.web}{next_path}")
    assert login.status_code == 200, login.text
    assert str(login.url).startswith(f"{site.issuer}/authorize?"), f"not sent to the provider: {login.url}"
    assert login.url.params["client_id"] == CLIENT_ID
    assert login.url.params["redirect_uri"] == f"{site.web}/staff/auth/callback"
    assert 'name="username"' in login.text, "the provider's login form"
    subject = {key: value for key, value in claims.items() if key != "sub"}
    return await client.post(str(login.url), data={"username": claims["sub"], "claims": json.dumps(subject)})


def session_of(client: httpx.AsyncClient) -> dict[str, Any]:
    """What the web keeps in its (encrypted) session cookie."""
    cookie = client.cookies.get("meetmalmo_session")
    if cookie is None:
        return {}
    return dict(json.loads(base64.b64decode(FernetSigner(SECRET).unsign(cookie.encode()))))


async def test_a_coordinator_signs_in_with_the_provider_and_the_services_accept_its_token(site: Site) -> None:
    async with browser() as client:
        inbox = await sign_in(client, site, EVA)
        assert inbox.status_code == 200, inbox.text
        assert str(inbox.url) == f"{site.web}/staff", "back where the sign-in began"
        assert any(hop.url.path == "/staff/auth/callback" for hop in inbox.history), "through the callback"
        # the inbox shows only once intake answered GET /api/v1/initiatives (the provider's token) with 200
        assert 'href="/staff/initiatives/new"' in inbox.text, "the inbox, as a coordinator sees it"
        assert 'action="/staff/sign-out"' in inbox.text

        staff = session_of(client)["staff"]
        assert staff["name"] == EVA["name"]
        assert staff["email"] == EVA["email"]
        assert staff["roles"] == ["coordinator"]
        access = jwt.decode(
            staff["token"],
            jwt.PyJWKClient(f"{site.issuer}/jwks").get_signing_key_from_jwt(staff["token"]).key,
            algorithms=["RS256", "ES256"],
            audience=AUDIENCE,
            issuer=site.issuer,
        )
        assert access["sub"] == EVA["sub"] and access["roles"] == ["coordinator"], "the provider's access token"
        assert (await TokenVerifier(site.platform).verify(staff["token"])).roles == {"coordinator"}

        # the same token straight to intake: answered; a locally minted one is not (intake trusts the provider)
        bearer = {"Authorization": f"Bearer {staff['token']}"}
        assert (await client.get(f"{site.intake}/api/v1/initiatives", headers=bearer)).status_code == 200
        local = issue_local_token(PlatformSettings(), email=EVA["email"], roles=["coordinator"])
        refused = await client.get(f"{site.intake}/api/v1/initiatives", headers={"Authorization": f"Bearer {local}"})
        assert refused.status_code == 401

        # a coordinator action
        assert (await client.get(f"{site.web}/staff/initiatives/new")).status_code == 200

        signed_out = await client.post(f"{site.web}/staff/sign-out", data={"csrf_token": csrf_of(inbox)})
        assert signed_out.status_code == 200
        assert "staff" not in session_of(client)
        again = await client.get(f"{site.web}/staff", follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"].startswith("/staff/sign-in")


async def test_without_the_coordinator_role_a_coordinator_action_is_refused(site: Site) -> None:
    async with browser() as client:
        inbox = await sign_in(client, site, OLLE)
        assert inbox.status_code == 200, inbox.text  # operators may read the inbox
        assert 'href="/staff/initiatives/new"' not in inbox.text
        assert session_of(client)["staff"]["roles"] == ["operator"]
        refused = await client.get(f"{site.web}/staff/initiatives/new")
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html"), "a page, not a bare error"


async def test_the_local_sign_in_form_is_refused_while_oidc_is_configured(site: Site) -> None:
    async with browser() as client:
        inbox = await sign_in(client, site, OLLE)
        form = {"csrf_token": csrf_of(inbox), "name": "Mallory", "email": "mallory@example.com", "role": "coordinator"}
        answer = await client.post(f"{site.web}/staff/sign-in", data=form)
        assert answer.status_code == 404
        assert session_of(client)["staff"]["roles"] == ["operator"], "no local session was made"
