"""The invited member's links: one per answer, signed; the seat they name makes them one-time."""

from __future__ import annotations

import uuid
from enum import StrEnum

from shared.links import LinkSigner


class Answer(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


class InvitationLinks:
    """Accept and decline links; a GET only shows a page, the page's button POSTs the answer."""

    def __init__(self, public_url: str, secret: str) -> None:
        self._base = public_url.rstrip("/")
        self._signer = LinkSigner(secret, "group-invitation")

    def token(self, seat_id: uuid.UUID, answer: Answer) -> str:
        return self._signer.token(f"{seat_id}:{answer.value}")

    def url(self, seat_id: uuid.UUID, answer: Answer) -> str:
        return f"{self._base}/invitations/{self.token(seat_id, answer)}"

    def read(self, token: str) -> tuple[uuid.UUID, Answer]:
        """The seat and the answer; raises InvalidLink (or ValueError) for anything else."""
        seat, answer = self._signer.subject(token).split(":")
        return uuid.UUID(seat), Answer(answer)
