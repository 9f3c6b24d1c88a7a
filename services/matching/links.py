"""The invited member's links: one per answer, signed; the seat they name makes them one-time.

They open the web's invitation page (MEETMALMO_WEB_PUBLIC_URL: `/invitations/<token>`), which reads and
answers through `/api/v1/invitations/<token>` here."""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum

from shared.links import DEFAULT_MAX_AGE, InvalidLink, PrivateLink, link_id


class Answer(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


class InvitationLinks:
    """Accept and decline links; a GET only shows a page, the page's button POSTs the answer."""

    def __init__(self, web_url: str, secret: str, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        self._link = PrivateLink(web_url, secret, purpose="group-invitation", path="invitations", max_age=max_age)

    def token(self, seat_id: uuid.UUID, answer: Answer) -> str:
        return self._link.token(seat_id, answer.value)

    def url(self, seat_id: uuid.UUID, answer: Answer) -> str:
        return self._link.url_for(self.token(seat_id, answer))

    def read(self, token: str) -> tuple[uuid.UUID, Answer]:
        """The seat and the answer; InvalidLink for anything else, ExpiredLink for an old link."""
        return self._parsed(self._link.read(token, parts=2))

    def seat_at_any_age(self, token: str) -> uuid.UUID:
        """The seat a genuine link names, however old (to send a new invitation); InvalidLink for anything else."""
        return self._parsed(self._link.read_at_any_age(token, parts=2))[0]

    @staticmethod
    def _parsed(parts: list[str]) -> tuple[uuid.UUID, Answer]:
        seat, answer = parts
        if answer not in Answer.__members__.values():
            raise InvalidLink("this link is not valid")
        return link_id(seat), Answer(answer)
