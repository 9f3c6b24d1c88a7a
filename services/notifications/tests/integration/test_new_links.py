"""Re-issued private links by email, on the real parts (idempotent consumer, PostgreSQL, a real SMTP server)."""

from __future__ import annotations

import pytest

from shared.taxonomy import Language

from .. import factories
from ..conftest import Service, SmtpServer
from ..factories import ORIGINATOR

pytestmark = pytest.mark.integration


async def test_a_new_status_link_is_one_email_to_the_originator_with_the_new_link(
    service: Service, smtp: SmtpServer
) -> None:
    event = factories.status_link_requested(Language.EN, status_url="https://meetmalmo.se/my/initiatives/new-one")
    envelope = await service.deliver(event)
    await service.deliver(event, envelope=envelope)  # Kafka redelivers the same record: still one email

    [row] = await service.settled(1)
    assert (row["template"], row["recipient"], row["status"]) == ("originator_status_link", ORIGINATOR, "sent")
    [message] = smtp.messages
    assert message["To"] == ORIGINATOR and message["Subject"] == "A new status link for your initiative MM-2026-0042"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert event.status_url in plain.get_content() and f'href="{event.status_url}"' in html.get_content()
    assert "no longer work" in plain.get_content()
