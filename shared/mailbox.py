"""A local mailbox for development where Mailpit is not built: an SMTP server that keeps every message
as an .eml file, with a decoded .txt beside it (headers and text part readable, links unbroken)."""

from __future__ import annotations

import re
import time
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope as SmtpEnvelope

UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9@._-]+")


def readable(message: EmailMessage) -> str:
    """The message as a person reads it: who, what, and the text part decoded."""
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else "(no text part)"
    headers = "".join(f"{name}: {message[name]}\n" for name in ("From", "To", "Subject", "Date") if message[name])
    return f"{headers}\n{text}"


class MaildirHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: SmtpEnvelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        recipient = UNSAFE_IN_NAME.sub("_", str(message["To"] or "unknown"))[:80]
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{recipient}-{uuid.uuid4().hex[:6]}"
        self._write(name + ".txt", readable(message).encode())
        self._write(name + ".eml", content)
        return "250 Message accepted for delivery"

    def _write(self, name: str, content: bytes) -> None:
        temporary = self.directory / (name + ".part")
        temporary.write_bytes(content)
        temporary.rename(self.directory / name)  # readers never see half a message


def start_mailbox(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    controller = Controller(MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller
