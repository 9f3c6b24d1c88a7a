"""Asking for a new status link: the initiative's reference and the originator's contact email."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.intake.handlers import RequestStatusLink
from services.intake.schemas.submission import Strict


class StatusLinkRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reference": "MM-2026-0042", "email": "anna.andersson@acme.example"}]}
    )

    reference: str = Field(
        pattern=r"^\s*[Mm][Mm]-\d{4}-\d{4,}\s*$",
        max_length=30,
        description="The initiative's reference number, as in the receipt: MM-YYYY-NNNN",
        examples=["MM-2026-0042"],
    )
    email: EmailStr = Field(description="The contact email given with the initiative")

    def to_command(self) -> RequestStatusLink:
        return RequestStatusLink(self.reference, str(self.email))


class StatusLinkRequested(BaseModel):
    """The same answer whether or not the pair matched: it never tells which initiatives exist or who sent them."""

    detail: Literal["if that matches an initiative, a new status link is on its way"] = (
        "if that matches an initiative, a new status link is on its way"
    )
