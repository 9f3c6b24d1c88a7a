"""`meetmalmo`: run the whole platform, serve one service, migrate, mint a local staff token, docs."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from shared.auth import Role, issue_local_token
from shared.settings import ConfigError, PlatformSettings

SERVICES = ("intake", "resources", "matching", "notifications")

app = typer.Typer(help="Meet Malmö collaboration platform.", no_args_is_help=True, add_completion=False)


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


def _check_service(service: str) -> str:
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}")
    return service


@app.command()
def serve(service: Annotated[str, typer.Argument(help="intake, resources, matching or notifications")]) -> None:
    """Serve one service: its HTTP API, its consumers and its outbox relay."""
    import uvicorn

    bootstrap = _bootstrap(_check_service(service))
    settings = _settings(service)
    uvicorn.run(
        bootstrap.create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False
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
    hours: Annotated[int, typer.Option(help="validity in hours")] = 12,
) -> None:
    """Print a locally signed staff token (HS256 with MEETMALMO_AUTH_JWT_SECRET)."""
    typer.echo(issue_local_token(PlatformSettings(), email=email, roles=[r.value for r in role], hours=hours))


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

    target = directory or PlatformSettings().var_dir / "mail"
    controller = start_mailbox(target, port=port)
    typer.echo(f"mailbox: smtp://127.0.0.1:{port} -> {target}")
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        controller.stop()


@app.command()
def run(
    mailbox_port: Annotated[int, typer.Option(help="SMTP port of the local mailbox")] = 1025,
) -> None:
    """Run everything: migrations, the local mailbox and the four services, until Ctrl-C."""
    from shared.mailbox import start_mailbox

    platform = PlatformSettings()
    migrate(None)
    mail_dir = platform.var_dir / "mail"
    controller = start_mailbox(mail_dir, port=mailbox_port)
    env = {
        **os.environ,
        "NOTIFICATIONS_SMTP_HOST": os.environ.get("NOTIFICATIONS_SMTP_HOST", "127.0.0.1"),
        "NOTIFICATIONS_SMTP_PORT": os.environ.get("NOTIFICATIONS_SMTP_PORT", str(mailbox_port)),
        # Locally, coordinators' alerts land in var/mail for a sample coordinator.
        "NOTIFICATIONS_COORDINATOR_EMAILS": os.environ.get(
            "NOTIFICATIONS_COORDINATOR_EMAILS", "eva.coordinator@malmo.se"
        ),
    }
    # Each service in a session of its own: Ctrl-C reaches only this process, which then stops
    # every service once (a second SIGINT would make uvicorn abandon its graceful shutdown).
    children = {
        name: subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", name], env=env, start_new_session=True)
        for name in SERVICES
    }
    typer.echo("\nMeet Malmö is starting:")
    for name in SERVICES:
        settings = _settings(name)
        typer.echo(f"  {name:<14} {settings.public_url}  (API docs: {settings.public_url}docs)")
    typer.echo(f"  {'mailbox':<14} smtp://127.0.0.1:{mailbox_port} -> {mail_dir}")
    typer.echo(f"  {'kafka':<14} {platform.kafka_bootstrap}")
    typer.echo("Press Ctrl-C to stop.\n")
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
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
        controller.stop()


if __name__ == "__main__":
    app()
