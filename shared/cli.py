"""`meetmalmo`: run the whole platform, serve one service, migrate, mint a local staff token, docs."""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from ipaddress import ip_network
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import httpx
import typer

from shared.auth import Role, issue_local_token
from shared.settings import PROJECT_ROOT, ConfigError, PlatformSettings, load_settings

SERVICES = ("intake", "resources", "matching", "notifications")  # each with its own database and consumers
WEB = "web"  # the pages people see; it keeps no data and asks the services

app = typer.Typer(
    help="Meet Malmö collaboration platform.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
MAILPIT = PROJECT_ROOT / "deploy" / "mailpit" / "bin" / "mailpit"  # built by deploy/mailpit/build.sh


def _bootstrap(service: str) -> ModuleType:
    # Services are addressed by name at run time; shared/ never imports them statically.
    return importlib.import_module(f"services.{service}.bootstrap")


def _settings(service: str) -> Any:
    """The service's settings, or a clean exit naming every bad environment variable."""
    try:
        return _bootstrap(service).get_settings()
    except ConfigError as exc:
        typer.echo(f"{service}: {exc}", err=True)
        raise typer.Exit(2) from None


def _platform() -> PlatformSettings:
    """The platform's settings, or a clean exit naming every bad MEETMALMO_ variable."""
    try:
        return load_settings(PlatformSettings)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _check_service(service: str) -> str:
    if service not in (*SERVICES, WEB):
        raise typer.BadParameter(f"unknown service {service!r}; choose one of {', '.join((*SERVICES, WEB))}")
    return service


@app.command()
def serve(service: Annotated[str, typer.Argument(help="web, intake, resources, matching or notifications")]) -> None:
    """Serve one service: its HTTP API, its consumers and its outbox relay."""
    import uvicorn

    bootstrap = _bootstrap(_check_service(service))
    settings = _settings(service)
    try:
        application = bootstrap.create_app(settings)
    except ConfigError as exc:  # e.g. a weak secret outside local mode
        typer.echo(f"{service}: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # The client's address from X-Forwarded-For only when the peer is a trusted proxy (the web, an ingress).
        proxy_headers=True,
        forwarded_allow_ips=",".join(str(ip_network(p, strict=False)) for p in settings.platform.trusted_proxies),
    )


@app.command()
def migrate(
    service: Annotated[list[str] | None, typer.Argument(help="services to migrate (default: all)")] = None,
) -> None:
    """Apply every service's database migrations."""
    from shared.migrations import upgrade

    for name in service or SERVICES:
        settings = _settings(_check_service(name))
        upgrade(name, settings.resolved_database_url())
        typer.echo(f"{name}: migrated")


@app.command()
def token(
    role: Annotated[list[Role], typer.Option(help="role(s) to grant")],
    email: Annotated[str, typer.Option(help="the staff member's email")],
    hours: Annotated[int, typer.Option(min=1, help="validity in hours (at least 1)")] = 12,
) -> None:
    """Print a locally signed staff token (HS256 with MEETMALMO_AUTH_JWT_SECRET)."""
    try:
        typer.echo(issue_local_token(_platform(), email=email, roles=[r.value for r in role], hours=hours))
    except ConfigError as exc:  # outside local mode without MEETMALMO_AUTH_JWT_SECRET
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command()
def docs(
    output: Annotated[Path, typer.Option(help="where to write the AsyncAPI document")] = Path("docs/asyncapi.json"),
) -> None:
    """Write the AsyncAPI document of every topic and event."""
    from shared.asyncapi import asyncapi_json

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(asyncapi_json())
    typer.echo(f"wrote {output}")


@app.command()
def mailbox(
    port: Annotated[int, typer.Option(help="SMTP port")] = 1025,
    directory: Annotated[Path | None, typer.Option(help="where messages are kept (default var/mail)")] = None,
) -> None:
    """Run only the local mailbox: SMTP on 127.0.0.1 storing each message as .eml."""
    from shared.mailbox import start_mailbox

    target = directory or _platform().var_dir / "mail"
    controller = start_mailbox(target, port=port)
    typer.echo(f"mailbox: smtp://127.0.0.1:{port} -> {target}")
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        controller.stop()


dlq_app = typer.Typer(
    help="The dead-letter topics: list, show, redrive (see shared/dlq.py for the safe rule).", no_args_is_help=True
)
app.add_typer(dlq_app, name="dlq")
TopicOption = Annotated[
    list[str] | None, typer.Option("--topic", help="original topic(s), e.g. meetmalmo.groups.v1 (default: all)")
]
ConsumerOption = Annotated[str | None, typer.Option(help="only the dead letters of this consumer group")]


@dlq_app.command("list")
def dlq_list(topic: TopicOption = None, consumer: ConsumerOption = None) -> None:
    """One line per dead letter: topic, position, consumer, event, error (never the payload)."""
    import asyncio

    from shared.dlq import list_dead_letters

    platform = _platform()
    letters = asyncio.run(
        list_dead_letters(platform.kafka_bootstrap, platform.topic_namespace, topics=topic, consumer=consumer)
    )
    for letter in letters:
        typer.echo(json.dumps(letter.summary(), ensure_ascii=False))
    typer.echo(f"{len(letters)} dead letter(s)", err=True)


@dlq_app.command("show")
def dlq_show(
    topic: Annotated[str, typer.Argument(help="the original topic, e.g. meetmalmo.groups.v1")],
    position: Annotated[str, typer.Argument(help="PARTITION:OFFSET on its dead-letter topic, as `list` prints")],
) -> None:
    """Everything about one dead letter: its headers and its envelope (which may hold personal data)."""
    import asyncio

    from shared.dlq import list_dead_letters

    platform = _platform()
    letters = asyncio.run(list_dead_letters(platform.kafka_bootstrap, platform.topic_namespace, topics=[topic]))
    found = [letter for letter in letters if letter.position == position]
    if not found:
        typer.echo(f"no dead letter at {position} of {topic}", err=True)
        raise typer.Exit(1)
    letter = found[0]
    body = letter.envelope() if letter.envelope() is not None else letter.value.decode(errors="replace")
    typer.echo(json.dumps({**letter.summary(), "headers": letter.headers, "value": body}, ensure_ascii=False, indent=2))


@dlq_app.command("redrive")
def dlq_redrive(
    topic: TopicOption = None,
    consumer: ConsumerOption = None,
    force: Annotated[bool, typer.Option(help="redrive also what the safe rule skips (you checked it)")] = False,
    dry_run: Annotated[bool, typer.Option(help="say what would be redriven and skipped; change nothing")] = False,
) -> None:
    """Republish dead letters to their original topics in per-key order, skipping the unsafe ones."""
    import asyncio
    from datetime import timedelta

    from shared.dlq import redrive

    platform = _platform()
    report = asyncio.run(
        redrive(
            platform.kafka_bootstrap,
            platform.topic_namespace,
            topics=topic,
            consumer=consumer,
            keep_marks=timedelta(days=platform.processed_events_retention_days),
            force=force,
            dry_run=dry_run,
        )
    )
    verb = "would redrive" if dry_run else "redriven"
    for letter in report.redriven:
        typer.echo(json.dumps({verb: letter.summary()}, ensure_ascii=False))
    for letter, reason in report.skipped:
        typer.echo(json.dumps({"skipped": letter.summary(), "reason": reason}, ensure_ascii=False))
    typer.echo(f"{len(report.redriven)} {verb}, {len(report.skipped)} skipped", err=True)


def _answering(url: str, path: str) -> int | None:
    """The HTTP status `url + path` answers with, or None when nothing listens there."""
    try:
        return httpx.get(url.rstrip("/") + path, timeout=2.0).status_code
    except httpx.HTTPError:
        return None


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


def _start_mailbox(mail_dir: Path, smtp_port: int) -> tuple[Callable[[], None], str]:
    """Mailpit when it was built (deploy/mailpit/build.sh), else the plain-file mailbox; (stop, where to read)."""
    if MAILPIT.exists():
        mailpit = subprocess.Popen(
            [str(MAILPIT), "--smtp", f"127.0.0.1:{smtp_port}", "--listen", "127.0.0.1:8025", "--quiet",
             "--disable-version-check", "--smtp-disable-rdns",
             "--database", str(mail_dir.parent / "mailpit.db")],
            start_new_session=True,
        )  # fmt: skip

        def stop_mailpit() -> None:
            mailpit.terminate()
            mailpit.wait(timeout=10)

        return stop_mailpit, "http://127.0.0.1:8025 (Mailpit)"
    from shared.mailbox import start_mailbox

    controller = start_mailbox(mail_dir, port=smtp_port)
    return controller.stop, f"{mail_dir}/ (one readable .txt beside each .eml)"


@app.command()
def run(
    mailbox_port: Annotated[int, typer.Option(help="SMTP port of the local mailbox")] = 1025,
) -> None:
    """Run everything: migrations, the local mailbox and the four services, until Ctrl-C."""
    # `run` is the laptop's command: local mode (development secrets allowed) unless told otherwise.
    os.environ.setdefault("MEETMALMO_ENVIRONMENT", "local")
    platform = _platform()
    services = {name: _settings(name) for name in (WEB, *SERVICES)}
    for name, settings in services.items():
        if _port_taken(settings.host, settings.port):
            if _answering(str(settings.public_url), "/healthz") == 200:
                typer.echo(f"Meet Malmö is already running here ({name} answers on {settings.public_url}).", err=True)
            else:
                typer.echo(f"port {settings.port} is taken by another program: set {name.upper()}_PORT.", err=True)
            raise typer.Exit(1)
    migrate(None)
    stop_mailbox, mail_at = _start_mailbox(platform.var_dir / "mail", mailbox_port)
    env = {
        **os.environ,
        "NOTIFICATIONS_SMTP_HOST": os.environ.get("NOTIFICATIONS_SMTP_HOST", "127.0.0.1"),
        "NOTIFICATIONS_SMTP_PORT": os.environ.get("NOTIFICATIONS_SMTP_PORT", str(mailbox_port)),
        # Locally, coordinators' alerts land in the mailbox for a sample coordinator.
        "NOTIFICATIONS_COORDINATOR_EMAILS": os.environ.get(
            "NOTIFICATIONS_COORDINATOR_EMAILS", "eva.coordinator@malmo.se"
        ),
    }
    # Each service in a session of its own: Ctrl-C reaches only this process, which then stops
    # every service once (a second SIGINT would make uvicorn abandon its graceful shutdown).
    children = {
        name: subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", name], env=env, start_new_session=True)
        for name in (WEB, *SERVICES)
    }
    typer.echo("\nMeet Malmö is starting:")
    for name, settings in services.items():
        docs = "the portal and the staff console" if name == WEB else f"API docs: {settings.public_url}docs"
        typer.echo(f"  {name:<14} {settings.public_url}  ({docs})")
    typer.echo(f"  {'emails':<14} {mail_at}")
    typer.echo(f"  {'kafka':<14} {platform.kafka_bootstrap}")
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _announce_when_ready(services, children, mail_at)
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
        failed = [name for name, child in children.items() if child.poll() is not None]
        typer.echo(f"stopped because {', '.join(failed)} exited", err=True)
    except KeyboardInterrupt:
        typer.echo("\nstopping ...")
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children.values():
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        stop_mailbox()


def _announce_when_ready(services: dict[str, Any], children: dict[str, subprocess.Popen[bytes]], mail_at: str) -> None:
    """One line once every service's /readyz answers 200 (database and broker reached)."""
    waiting = dict(services)
    deadline = time.monotonic() + 120
    while waiting and time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            return
        waiting = {n: s for n, s in waiting.items() if _answering(str(s.public_url), "/readyz") != 200}
        time.sleep(0.5)
    if waiting:
        typer.echo(f"still not ready after 2 minutes: {', '.join(waiting)} (see the lines above)", err=True)
        return
    web = services[WEB].public_url
    typer.echo(
        f"\nMeet Malmö is ready. Open {web} in your browser (staff: {web}staff/sign-in); "
        f"emails arrive at {mail_at}. Ctrl-C stops everything.\n"
    )


if __name__ == "__main__":
    app()
