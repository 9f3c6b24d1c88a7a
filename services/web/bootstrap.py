"""Web's composition root: the service clients, the catalogs, the session, the pages."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from services.web import pages
from services.web.adapters.rendering import HERE, Pages
from services.web.adapters.services import RememberVisitor, ServiceClient, Services, ServiceUnavailable
from services.web.pages.staff_auth import NotSignedIn, oauth_for, sign_in_redirect
from services.web.security import SecurityHeaders
from services.web.sessions import EncryptedSessionMiddleware
from services.web.settings import Settings
from shared.i18n import Catalogs
from shared.logs import configure_logging
from shared.metrics import AppMetrics
from shared.settings import load_settings, refuse_weak_secrets
from shared.tracing import NATIVE_TELEMETRY_OFF, NOT_TRACED, configure_tracing
from shared.web import BodySizeLimit, Edge

STATIC = HERE / "static"
VENDOR = HERE / "node_modules"  # htmx and axe-core from npm (services/web/package.json), installed by make


def get_settings() -> Settings:
    return load_settings(Settings)


def services_of(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> Services:
    def client(name: str, url: object) -> ServiceClient:
        return ServiceClient(name, str(url), settings.service_timeout_seconds, transport)

    return Services(
        intake=client("intake", settings.intake_url),
        resources=client("resources", settings.resources_url),
        matching=client("matching", settings.matching_url),
        notifications=client("notifications", settings.notifications_url),
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()
    refuse_weak_secrets(settings)  # outside local mode: a strong session secret and a real identity provider
    configure_logging(settings.service_name, settings.platform.log_format, settings.platform.log_level)
    configure_tracing(settings.service_name)
    services = services or services_of(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await services.close()

    app = FastAPI(title="Meet Malmö", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan,
                  telemetry=NATIVE_TELEMETRY_OFF)  # fmt: skip
    app.state.settings = settings
    app.state.services = services
    app.state.pages = renderer = Pages(Catalogs(HERE / "translations"))
    app.state.oauth = oauth_for(settings)
    app.add_middleware(EncryptedSessionMiddleware, secret=settings.session_secret, secure=settings.secure_cookies)
    app.add_middleware(BodySizeLimit, max_bytes=256 * 1024)
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    app.add_middleware(RememberVisitor, trusted_proxies=settings.platform.trusted_proxies)
    # The pages' requests by route, status and latency (served at /metrics for the scraper, not through the
    # ingress), the correlation id, and the server span: a trace starts here.
    metrics = AppMetrics(settings.service_name)
    app.add_middleware(Edge, metrics=metrics.http, not_traced=(*NOT_TRACED, "/static"))
    app.mount("/static/vendor/htmx", StaticFiles(directory=VENDOR / "htmx.org" / "dist", check_dir=False), "htmx")
    app.mount("/static", StaticFiles(directory=STATIC), "static")
    for router in pages.ROUTERS:
        app.include_router(router)
    metrics.serve(app, behind_ingress=True)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "web"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        return JSONResponse({"ready": True, "checks": {}})

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return sign_in_redirect(exc)

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, exc: ServiceUnavailable) -> HTMLResponse:
        return renderer.render(request, "error.html", {"problem": "unavailable"}, status_code=503)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        problem = {403: "forbidden", 404: "not_found", 410: "expired", 413: "too_large", 429: "too_many"}.get(
            exc.status_code, "other"
        )
        page = renderer.render(request, "error.html", {"problem": problem, "detail": exc.detail},
                                      status_code=exc.status_code)  # fmt: skip
        for name, value in (exc.headers or {}).items():
            page.headers[name] = value
        return page

    return app
