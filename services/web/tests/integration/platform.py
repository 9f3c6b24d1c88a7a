"""The whole platform for the browser tests: the four services under uvicorn on real ports (each on its
own migrated PostgreSQL database, all on one Kafka topic namespace), notifications sending to a real
SMTP server that keeps what it receives, and the web in front, whose address every email link opens.

The services are started by shared.testing's running_services, by name (importlib): the web imports
no service, its tests only run them. tests/test_web_journey.py uses the same platform.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx

from services.web.bootstrap import create_app as create_web
from services.web.settings import Settings as WebSettings
from shared.settings import PlatformSettings
from shared.testing import (
    SERVICES,
    Mailbox,
    drop_database,
    free_port,
    link_after,
    links_in,
    migrated_database,
    running_services,
    serve_in_thread,
    staff_headers,
)

__all__ = [  # link_after and links_in are shared.testing's, here where the web's tests have read them
    "COORDINATOR",
    "SECRET",
    "WAIT",
    "Platform",
    "link_after",
    "links_in",
    "running_platform",
    "web_without_services",
]

SECRET = "web-browser-tests-secret-of-at-least-32-characters"
COORDINATOR = "eva.coordinator@malmo.se"
WAIT = 20.0  # seconds any one step may take to show (they take well under one)


@dataclass
class Platform:
    web: str
    api: dict[str, str]  # service name -> its base URL
    databases: dict[str, str]
    mailbox: Mailbox
    client: httpx.AsyncClient  # for what a test sets up through the APIs rather than the pages

    def staff(self, role: str = "coordinator", email: str = COORDINATOR) -> dict[str, str]:
        """The Authorization header of a staff token the services accept."""
        return staff_headers(SECRET, role=role, email=email)


@contextlib.asynccontextmanager
async def running_platform(
    postgres_server: str, kafka_bootstrap: str, namespace: str, *, coordinators: tuple[str, ...] = (COORDINATOR,)
) -> AsyncIterator[Platform]:
    """Start everything on free ports; stop it and drop its databases afterwards."""
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    databases = {name: await migrated_database(postgres_server, name) for name in SERVICES}
    try:
        with contextlib.ExitStack() as running:
            services = running.enter_context(
                running_services(
                    databases,
                    kafka_bootstrap,
                    namespace,
                    secret=SECRET,
                    web_public_url=web_url,  # every link in an email opens a page on the web
                    coordinators=coordinators,
                    link_secret=SECRET,
                    public_rate_limit="100000/minute",  # every page's call comes from the web's one address
                )
            )
            api = services.api
            web = WebSettings(
                public_url=web_url,
                intake_url=api["intake"],
                resources_url=api["resources"],
                matching_url=api["matching"],
                notifications_url=api["notifications"],
                session_secret=SECRET,
                platform=services.platform,
            )
            running.enter_context(serve_in_thread(create_web(web), web_port))
            async with httpx.AsyncClient(timeout=10.0) as client:
                yield Platform(web_url, api, databases, services.mailbox, client)
    finally:
        for database in databases.values():
            await drop_database(database)


@contextlib.contextmanager
def web_without_services() -> Iterator[str]:
    """The web alone, every service it would ask unreachable (a port nobody listens on)."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = WebSettings(
        intake_url=nowhere,
        resources_url=nowhere,
        matching_url=nowhere,
        notifications_url=nowhere,
        service_timeout_seconds=2.0,
        session_secret=SECRET,
        platform=PlatformSettings(auth_jwt_secret=SECRET),
    )
    with serve_in_thread(create_web(settings), free_port()) as url:
        yield url
