"""Sending emails over SMTP (aiosmtplib) on kept connections, and reading what went wrong as the domain's failures."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr

import aiosmtplib
import aiosmtplib.email

from services.notifications.domain import (
    Deferred,
    OutcomeUnknown,
    OutgoingEmail,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
)
from shared.db import Clock
from shared.logs import redact_text


def sender_domain(sender: str) -> str:
    """The domain of the From address, which also names our Message-IDs."""
    return parseaddr(sender)[1].rpartition("@")[2] or "meetmalmo.local"


# Both parts quoted-printable: 7-bit on the wire whatever the server offers, long lines soft-broken (links stay
# whole once decoded). Built with the compat32 classes, which take header values as given: the structured
# headers of email.policy.default cost ~3 ms of CPU an email, most of the sender's time at 200 emails/s.
_UTF8 = Charset("utf-8")
_UTF8.header_encoding = _UTF8.body_encoding = QP
# On the wire as built: CRLF, and no folding of our own below SMTP's line limit (a long List-Unsubscribe URL stays
# one token; the subject comes folded into encoded words already).
_WIRE = compat32.clone(linesep="\r\n", max_line_length=998)


def build_message(email: OutgoingEmail, sender: str, now: datetime) -> Message:
    """The email as MIME (multipart/alternative: text, then HTML). A header value with a line break (which
    would start a header of its own) is refused with ValueError."""
    values = (sender, email.recipient, email.subject, email.message_id, email.language, email.list_unsubscribe or "")
    if any("\r" in value or "\n" in value for value in values):
        raise ValueError("a header value holds a line break")
    message = MIMEMultipart("alternative")
    name, address = parseaddr(sender)
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = email.recipient
    message["Subject"] = Header(email.subject, _UTF8).encode(linesep="\r\n")
    message["Date"] = format_datetime(now)
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    if email.list_unsubscribe:  # RFC 2369 and RFC 8058: the mail client may POST to it, no page needed
        message["List-Unsubscribe"] = f"<{email.list_unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Content-Language"] = email.language
    message.attach(MIMEText(email.text, "plain", _UTF8))  # type: ignore[arg-type]  # a Charset is taken
    message.attach(MIMEText(email.html, "html", _UTF8))  # type: ignore[arg-type]
    return message


def _reply(code: int, text: str) -> str:
    # Servers echo addresses in their replies ("550 <a@b>: no such user"); keep them out of the log.
    return redact_text(f"{code} {text}".strip())[:500]


def _problem(exc: BaseException) -> str:
    return redact_text(f"{type(exc).__name__}: {exc}")[:500]


# What the connection can do wrong without the server answering: refused, timed out, dropped.
_NO_ANSWER = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPConnectError, OSError)


@dataclass(kw_only=True)
class SmtpMailer:
    """The Mailer of the running service: up to `connections` SMTP connections, each kept open and reused
    from one email to the next, so several emails are handed over at once without a handshake each.

    How far an email got decides what a failure means: before DATA nothing was handed over (the server
    is away, refused the sender, or deferred the recipient: the email waits); a reply to the message is
    the server's verdict (4xx: later, 5xx: never); no reply once the message was sent leaves the outcome
    unknown, and that email is never retried automatically.
    """

    host: str
    port: int
    sender: str
    clock: Clock
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout_seconds: float = 10.0
    connections: int = 4
    _idle: list[aiosmtplib.SMTP] = field(default_factory=list, init=False, repr=False)
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    async def send(self, email: OutgoingEmail) -> None:
        """Hand the email to the server; raise PermanentFailure, TemporaryFailure, Deferred,
        ServerUnavailable or OutcomeUnknown."""
        try:
            message = build_message(email, self.sender, self.clock())
        except (ValueError, TypeError) as exc:  # e.g. an address with a line break: no server will take it
            raise PermanentFailure(f"the message cannot be built: {type(exc).__name__}") from None
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.connections)
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            client = await self._transaction(client, message, email.recipient)
            self._idle.append(client)  # only a connection that finished its transaction cleanly is kept

    async def close(self) -> None:
        """Say goodbye on every kept connection (at shutdown)."""
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit(timeout=min(self.timeout_seconds, 2.0))
            client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout_seconds,
        )
        try:
            await client.connect()
        except (
            aiosmtplib.SMTPAuthenticationError,
            aiosmtplib.SMTPConnectResponseError,
            aiosmtplib.SMTPHeloError,
        ) as exc:
            # Nothing is wrong with this email: the server will not talk to us. It waits, it does not fail.
            client.close()
            raise ServerUnavailable(_reply(exc.code, exc.message)) from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # refused, timed out, no STARTTLS
            client.close()
            raise ServerUnavailable(_problem(exc)) from None
        return client

    async def _transaction(self, client: aiosmtplib.SMTP | None, message: Message, recipient: str) -> aiosmtplib.SMTP:
        """One MAIL, RCPT, DATA on the connection (a new one if None); returns the connection, still usable."""
        reused = client is not None and client.is_connected
        if client is None or not client.is_connected:
            client = await self._connect()
        sender = parseaddr(self.sender)[1]
        utf8 = not (sender + recipient).isascii()
        options = ["SMTPUTF8"] if utf8 else []
        eight_bit = client.supports_extension("8BITMIME")
        if eight_bit:
            options.append("BODY=8BITMIME")
        encoding = "utf-8" if utf8 else "ascii"
        try:
            try:
                await client.mail(sender, options=options, encoding=encoding)
            except _NO_ANSWER:
                if not reused:
                    raise
                client.close()  # a kept connection the server closed while it was idle: once more, afresh
                client = await self._connect()
                await client.mail(sender, options=options, encoding=encoding)
            await client.rcpt(recipient, encoding=encoding)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(client)
            if exc.code >= 500:
                raise PermanentFailure(_reply(exc.code, exc.message)) from None
            if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
                raise Deferred(_reply(exc.code, exc.message)) from None  # greylisted, mailbox busy: later
            raise ServerUnavailable(_reply(exc.code, exc.message)) from None  # 421, 451 to MAIL: the server
        except (aiosmtplib.SMTPException, OSError) as exc:  # nothing handed over yet
            client.close()
            raise ServerUnavailable(_problem(exc)) from None
        if utf8:  # an address beyond ASCII goes as UTF-8 itself (SMTPUTF8), not as an encoded word
            flat = aiosmtplib.email.flatten_message(message, utf8=True, cte_type="8bit" if eight_bit else "7bit")
        else:
            flat = message.as_bytes(policy=_WIRE)
        try:
            await client.data(flat)
        except aiosmtplib.SMTPResponseException as exc:  # the server's verdict on the message itself
            await self._reset(client)
            if exc.code >= 500:
                raise PermanentFailure(_reply(exc.code, exc.message)) from None
            raise TemporaryFailure(_reply(exc.code, exc.message)) from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # sent, and no answer: it may have been taken
            client.close()
            raise OutcomeUnknown(f"no answer after the message was handed over: {_problem(exc)}") from None
        return client

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        """RSET after a refusal, so the connection can carry the next email; close it if that fails."""
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
