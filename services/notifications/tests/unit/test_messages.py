"""What the SMTP server is handed reads whole once received: every email's Subject is an RFC 2047
encoded header, its text part UTF-8, and no link is cut by the transfer encoding's soft line breaks
once the message is decoded (as Mailpit or a mail client shows it). No I/O."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from services.notifications.adapters.rendering import Renderer
from services.notifications.adapters.smtp import build_message
from services.notifications.domain import OutgoingEmail, PlannedEmail
from shared.contracts import Event
from shared.taxonomy import Language

from .fakes import NOW
from .test_emails import HREF, every_email, links_of, sent

renderer = Renderer()
SENDER = "Meet Malmö <noreply@meetmalmo.se>"
LONG_LINK = "http://127.0.0.1:8003/invitations/0356d688-7c0f-4828-8f8b-60c9bafcdccc/accept?token=" + "eyJhbGciOi" * 9


def as_received(email: OutgoingEmail) -> tuple[bytes, EmailMessage]:
    """The bytes as they go over SMTP, and the message a reader's program makes of them."""
    raw = build_message(email, SENDER, NOW).as_bytes(policy=policy.SMTP)
    received = message_from_bytes(raw, policy=policy.default)
    assert isinstance(received, EmailMessage)
    return raw, received


def plain_and_html(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    assert plain.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    return plain.get_content(), html.get_content()


@pytest.mark.parametrize(("name", "language", "email", "event"), every_email(), ids=lambda v: str(v)[:40])
def test_every_email_arrives_with_its_subject_encoded_its_text_utf_8_and_every_link_whole(
    name: str, language: Language, email: PlannedEmail, event: Event
) -> None:
    rendered = sent(renderer.render(email.template, email.language, email.context))
    outgoing = OutgoingEmail(
        email.recipient, rendered.subject, rendered.text, rendered.html, "<id@meetmalmo.se>", email.language.value
    )
    raw, received = as_received(outgoing)

    raw.partition(b"\r\n\r\n")[0].decode("ascii")  # the headers are ASCII: Subject and From as encoded words
    assert received["Subject"] == rendered.subject
    text, html = plain_and_html(received)
    assert text.replace("\r\n", "\n") == rendered.text
    for link in links_of(event, email):
        assert link in text and f'href="{link}"' in html, link
    assert HREF.findall(html) == HREF.findall(rendered.html)


def test_a_long_link_beside_swedish_text_is_soft_broken_on_the_wire_but_whole_when_read() -> None:
    subject = "Inbjudan till arbetsgrupp: Sommarjobb för unga i Sofielund, Möllevången och Rosengård"
    text = f"Hej Åsa! Du är inbjuden till arbetsgruppen för initiativet i Sofielund.\n\nTacka ja:\n{LONG_LINK}\n"
    html = f'<p>Hej Åsa!</p><p><a href="{LONG_LINK}">Tacka ja</a></p>'
    raw, received = as_received(OutgoingEmail("asa@malmo.se", subject, text, html, "<id@meetmalmo.se>", "sv"))

    headers = raw.partition(b"\r\n\r\n")[0].decode("ascii")
    assert "Subject: " in headers and "=?utf-8?" in headers  # RFC 2047 encoded words, not raw UTF-8
    assert LONG_LINK.encode() not in raw  # longer than a line may be: the transfer encoding breaks it softly
    assert received["Subject"] == subject
    plain, page = plain_and_html(received)
    assert f"Tacka ja:\n{LONG_LINK}\n" in plain.replace("\r\n", "\n")
    assert f'href="{LONG_LINK}"' in page
