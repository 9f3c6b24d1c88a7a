"""Sending one email over SMTP (aiosmtplib), and reading the server's refusals as the domain's failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from services.notifications.domain import OutgoingEmail, PermanentFailure, ServerUnavailable, TemporaryFailure
from shared.db import Clock
from shared.logs import redact_text


def sender_domain(sender: str) -> str:
    """The domain of the From address, which also names our Message-IDs."""
    return parseaddr(sender)[1].rpartition("@")[2] or "meetmalmo.local"


def build_message(email: OutgoingEmail, sender: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    if email.list_unsubscribe:  # RFC 2369 and RFC 8058: the mail client may POST to it, no page needed
        message["List-Unsubscribe"] = f"<{email.list_unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    message["Content-Language"] = email.language  # after the content, which clears Content-* headers
    return message


def _reply(code: int, text: str) -> str:
    # Servers echo addresses in their replies ("550 <a@b>: no such user"); keep them out of the log.
    return redact_text(f"{code} {text}".strip())[:500]


def _by_code(code: int, text: str) -> TemporaryFailure | PermanentFailure:
    return PermanentFailure(_reply(code, text)) if 500 <= code < 600 else TemporaryFailure(_reply(code, text))


@dataclass(frozen=True, kw_only=True)
class SmtpMailer:
    """The Mailer of the running service: one SMTP connection per email."""

    host: str
    port: int
    sender: str
    clock: Clock
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout_seconds: float = 10.0

    async def send(self, email: OutgoingEmail) -> None:
        """Hand the email to the server; raise PermanentFailure, TemporaryFailure or ServerUnavailable."""
        try:
            message = build_message(email, self.sender, self.clock())
        except (ValueError, TypeError) as exc:  # e.g. an address with a line break: no server will take it
            raise PermanentFailure(f"the message cannot be built: {type(exc).__name__}") from None
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                timeout=self.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            worst = max(exc.recipients, key=lambda refused: refused.code)
            raise _by_code(worst.code, worst.message) from None
        except (
            aiosmtplib.SMTPAuthenticationError,
            aiosmtplib.SMTPConnectResponseError,
            aiosmtplib.SMTPHeloError,
        ) as exc:
            # Nothing is wrong with this email: the server will not talk to us. Retry, do not fail it.
            raise ServerUnavailable(_reply(exc.code, exc.message)) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_code(exc.code, exc.message) from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # refused, timed out, disconnected, no STARTTLS
            raise ServerUnavailable(redact_text(f"{type(exc).__name__}: {exc}")[:500]) from None
