"""Erased means erased in notifications: an event that arrives after the erasure (another topic, a redelivery,
a replay) brings back no address, no text and no email. On the real parts: the idempotent consumer, PostgreSQL
and a real SMTP server."""

from __future__ import annotations

import json

import pytest

from shared.contracts import Envelope
from shared.testing import eventually

from .. import factories
from ..conftest import Service, SmtpServer

pytestmark = pytest.mark.integration

ALI = ("Ali Hassan", "ali.hassan@example.org")  # (the sample members share one phone number)


def mentions_ali(rows: list[dict[str, object]]) -> list[str]:
    dumped = json.dumps([list(r.values()) for r in rows], default=str)
    return [needle for needle in ALI if needle in dumped]


async def test_a_redelivered_event_queues_nothing_again_once_the_recipients_address_is_erased(
    service: Service, smtp: SmtpServer
) -> None:
    invitation = factories.invited()
    assert invitation.member.resource_id is not None
    envelope = await service.deliver(invitation, producer="matching")
    await service.settled(1)
    await service.deliver(factories.erased(invitation.member.resource_id), producer="resources")
    [erased] = await service.rows("SELECT recipient FROM deliveries")
    assert erased["recipient"] is None

    # The consumer's memory gone (a replay under a new consumer name): the log's own key must still hold.
    await service.execute("DELETE FROM processed_events")
    await service.deliver(invitation, envelope=envelope, producer="matching")

    assert len(await service.rows("SELECT id FROM deliveries")) == 1
    assert len(smtp.handler.to("ali.hassan@example.org")) == 1


async def test_an_invitation_consumed_after_the_erasure_creates_no_delivery(service: Service, smtp: SmtpServer) -> None:
    invitation = factories.invited()
    assert invitation.member.resource_id is not None
    await service.deliver(factories.erased(invitation.member.resource_id), producer="resources")

    await service.deliver(invitation, producer="matching")

    assert await service.rows("SELECT * FROM deliveries") == []
    assert await service.rows("SELECT kind, subject_id FROM erased_subjects") == [
        {"kind": "resource", "subject_id": invitation.member.resource_id}
    ]


async def test_a_formed_group_consumed_after_a_members_erasure_neither_mails_nor_shows_them(
    service: Service, smtp: SmtpServer
) -> None:
    registered = factories.registered()
    ali = factories.member(ALI[0], ALI[1], resource_id=registered.resource_id)
    originator, _, sara = factories.members()
    await service.deliver(factories.erased(registered.resource_id), producer="resources")

    await service.deliver(factories.formed(group_members=(originator, ali, sara)), producer="matching")

    rows = await service.settled(2 + 2)  # the originator and Sara, and each coordinator
    assert {r["recipient"] for r in rows} == {originator.email, sara.email, *factories.COORDINATORS}
    assert mentions_ali(rows) == []
    await eventually(lambda: _received(smtp, 4))
    assert smtp.handler.to(ALI[1]) == []
    assert all(ALI[0] not in m.as_string() and ALI[1] not in m.as_string() for m in smtp.messages)


async def test_a_registration_or_update_consumed_after_the_erasure_keeps_nothing(
    service: Service, smtp: SmtpServer
) -> None:
    registered = factories.registered()
    await service.deliver(factories.erased(registered.resource_id), producer="resources")

    await service.deliver(registered, producer="resources")
    await service.deliver(factories.resource_updated(registered.resource_id), producer="resources")

    assert await service.rows("SELECT * FROM deliveries") == []
    assert await service.rows("SELECT * FROM resource_profiles") == []


async def _received(smtp: SmtpServer, count: int) -> bool:
    return len(smtp.messages) >= count


async def test_an_update_of_either_version_changes_no_footer_link_and_one_of_version_1_is_still_read(
    service: Service, smtp: SmtpServer
) -> None:
    registered = factories.registered()
    await service.deliver(registered, producer="resources")
    v1 = factories.resource_updated(registered.resource_id)
    v2 = v1.model_copy(update={"profile_url": None})
    envelope_v1 = Envelope.wrap(v1, producer="resources").model_copy(update={"schema_version": 1})

    await service.deliver(v1, envelope=envelope_v1, producer="resources")
    await service.deliver(v2, producer="resources")

    [link] = await service.rows("SELECT * FROM resource_profiles")
    # A version-1 update still refreshes it, with the version its link named (3); version 2 names none.
    assert (link["resource_id"], link["link_version"]) == (registered.resource_id, 3)
    assert "profile_url" not in link
    assert len(await service.rows("SELECT event_id FROM processed_events")) == 3
