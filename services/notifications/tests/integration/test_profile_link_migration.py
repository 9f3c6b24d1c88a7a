"""The migration that takes the profile link out of notifications' database, on real PostgreSQL: rows written
before it (the link in resource_profiles and in queued texts) keep their version and lose the token."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from services.notifications.domain import PROFILE_LINK
from shared.contracts.links import profile_url
from shared.migrations import upgrade
from shared.testing import create_database, drop_database, execute, query, rows_mentioning

pytestmark = pytest.mark.integration

WEB = "https://meetmalmo.test"
OLD_KEY = "the-key-resources-signed-with-before-this-change"
BEFORE = "notifications_unsubscribe_links"  # the revision before the profile link left


async def test_existing_links_become_their_versions_and_queued_texts_a_placeholder(postgres_server: str) -> None:
    url = await create_database(postgres_server, "test_notifications_migration")
    try:
        await asyncio.to_thread(upgrade, "notifications", url, BEFORE)
        renewed, never_renewed, unreadable, other = (uuid.uuid4() for _ in range(4))
        links = {
            renewed: profile_url(WEB, OLD_KEY, renewed, 2),
            never_renewed: profile_url(WEB, OLD_KEY, never_renewed, 0),
            unreadable: f"{WEB}/my/profile/not-a-token",
        }
        now = datetime.now(UTC)
        for resource_id, link in links.items():
            await execute(
                url,
                "INSERT INTO resource_profiles (resource_id, profile_url, updated_at) VALUES (:id, :link, :now)",
                id=resource_id,
                link=link,
                now=now,
            )
        welcome, foreign = uuid.uuid4(), uuid.uuid4()
        texts = {
            welcome: (renewed, f"Din profil:\n{links[renewed]}\n", f'<a href="{links[renewed]}">{links[renewed]}</a>'),
            # Someone else's link in a text is not this delivery's to sign: it stays as it was.
            foreign: (other, f"Länk: {links[renewed]}\n", "<p>-</p>"),
        }
        for delivery_id, (resource_id, text, html) in texts.items():
            await execute(
                url,
                """INSERT INTO deliveries (id, event_id, event_type, template, recipient, recipient_role,
                    recipient_key, language, resource_id, subject, body_text, body_html, message_id, status, attempts,
                    erase_content_when_done, erase_recipient_when_done, created_at, updated_at, next_attempt_at)
                VALUES (:id, :event, 'ResourceRegistered', 'resource_welcome', 'ali@example.org', 'resource',
                    :key, 'sv', :resource, 'Välkommen', :text, :html, :message, 'queued', 0, false, false,
                    :now, :now, :now)""",
                id=delivery_id,
                event=uuid.uuid4(),
                key=f"resource:{resource_id}",
                resource=resource_id,
                text=text,
                html=html,
                message=f"<{delivery_id}@meetmalmo.se>",
                now=now,
            )

        await asyncio.to_thread(upgrade, "notifications", url)

        versions = {r["resource_id"]: r["link_version"] for r in await query(url, "SELECT * FROM resource_profiles")}
        assert versions == {renewed: 2, never_renewed: 0, unreadable: 0}
        rows = {r["id"]: r for r in await query(url, "SELECT * FROM deliveries")}
        assert rows[welcome]["profile_link_version"] == 2
        assert rows[welcome]["body_text"] == f"Din profil:\n{PROFILE_LINK}\n"
        assert rows[welcome]["body_html"] == f'<a href="{PROFILE_LINK}">{PROFILE_LINK}</a>'
        assert rows[foreign]["profile_link_version"] is None and links[renewed] in rows[foreign]["body_text"]
        await execute(url, "DELETE FROM deliveries WHERE id = :id", id=foreign)
        assert await rows_mentioning(url, "/my/profile/") == {}
    finally:
        await drop_database(url)
