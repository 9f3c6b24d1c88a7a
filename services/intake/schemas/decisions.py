"""The bodies of the coordinators' decisions and of the originator's answer and withdrawal."""

from __future__ import annotations

import uuid

from pydantic import ConfigDict, Field

from services.intake.handlers import (
    AddNote,
    AnswerInformationRequest,
    AssignLead,
    RejectInitiative,
    RequestInformation,
    WithdrawInitiative,
)
from services.intake.schemas.submission import Strict
from shared.validation import MultilineText, PlainText


class Rejection(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Initiativet söker en leverantör, inte en samverkan."}]}
    )

    reason: MultilineText = Field(
        min_length=1, max_length=2000, description="Why, in words for the originator: their email quotes it."
    )

    def to_command(self, initiative_id: uuid.UUID, by: str) -> RejectInitiative:
        return RejectInitiative(initiative_id, by, self.reason)


class InformationRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"message": "Vilka skolor är med, och hur många ungdomar räknar ni med?"}]}
    )

    message: MultilineText = Field(
        min_length=1,
        max_length=4000,
        description="The question, emailed to the originator with their private link to answer it.",
    )

    def to_command(self, initiative_id: uuid.UUID, by: str) -> RequestInformation:
        return RequestInformation(initiative_id, by, self.message)


class Answer(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "answer": "Två skolor i Rosengård är med; vi räknar med 40 ungdomar.",
                    "summary": "Företag och två skolor i Rosengård ordnar sommarjobb för 40 ungdomar.",
                }
            ]
        }
    )

    answer: MultilineText = Field(
        min_length=1, max_length=4000, description="The answer to the coordinator's question, sent on to them."
    )
    summary: MultilineText | None = Field(
        default=None, min_length=1, max_length=500, description="A better summary, replacing the old one; optional."
    )
    description: MultilineText | None = Field(
        default=None, max_length=10_000, description="A better description, replacing the old one; optional."
    )

    def to_command(self, initiative_id: uuid.UUID) -> AnswerInformationRequest:
        return AnswerInformationRequest(initiative_id, self.answer, self.summary, self.description)


class Withdrawal(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "Vi har hittat en annan lösning."}]})

    reason: MultilineText | None = Field(
        default=None, max_length=2000, description="Why, kept in the history; optional (send `{}`)."
    )

    def to_command(self, initiative_id: uuid.UUID, by: str) -> WithdrawInitiative:
        return WithdrawInitiative(initiative_id, by, self.reason)


class LeadAssignment(Strict):
    # Only the assignment as example: the OpenAPI document drops null values, so `{"lead": null}` would read `{}`.
    model_config = ConfigDict(json_schema_extra={"examples": [{"lead": "eva.coordinator@malmo.se"}]})

    lead: PlainText | None = Field(
        min_length=1,
        max_length=320,
        description="The coordinator who is to follow the initiative, by the email (or subject) of their staff "
        "sign-in; `null` to leave it unassigned.",
    )

    def to_command(self, initiative_id: uuid.UUID, by: str) -> AssignLead:
        return AssignLead(initiative_id, by, self.lead)


class NoteIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "Ringde Anna: skolorna är med från augusti."}]})

    text: MultilineText = Field(
        min_length=1,
        max_length=4000,
        description="The note, for coordinators and operators only: never shown to the originator nor sent in "
        "an event.",
    )

    def to_command(self, initiative_id: uuid.UUID, by: str) -> AddNote:
        return AddNote(initiative_id, by, self.text)
