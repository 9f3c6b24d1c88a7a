"""The image's HEALTHCHECK: is the service this container serves alive (GET /healthz answers 200)?

The container's command (`meetmalmo serve <service>`) names the service; its port is the one its own
settings read (`<SERVICE>_PORT`, or the default), so the check follows any configuration. A container
that serves nothing (`meetmalmo migrate`, a one-off command) is healthy while it runs.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import urllib.request
from pathlib import Path

SERVICES = ("web", "intake", "resources", "matching", "notifications")


def served_service(cmdline: list[str]) -> str | None:
    """`serve <name>` in a command line, or None."""
    for word, following in itertools.pairwise(cmdline):
        if word == "serve" and following in SERVICES:
            return following
    return None


def check(cmdline: list[str]) -> int:
    """0 when the service the command line serves answers /healthz with 200 (or it serves none), else 1."""
    service = served_service(cmdline)
    if service is None:
        return 0
    settings = importlib.import_module(f"services.{service}.settings").Settings()
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host  # noqa: S104 - its own address
    url = f"http://{host}:{settings.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as answer:
            return 0 if answer.status == 200 else 1
    except OSError as exc:
        print(f"{service}: {url} does not answer: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(check(Path("/proc/1/cmdline").read_bytes().decode().split("\0")))
