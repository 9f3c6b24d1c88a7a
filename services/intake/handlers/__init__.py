"""Intake's use cases: commands (submit, decide, answer, withdraw), queries (the reads) and the
consumed events. HANDLERS is the one registry of commands and queries the bus dispatches."""

from typing import Any

from services.intake.handlers.commands import (
    AcceptInitiative,
    AddNote,
    AnswerInformationRequest,
    AssignLead,
    CloseInitiative,
    IdempotencyKeyReused,
    RejectInitiative,
    RequestInformation,
    SubmitInitiative,
    WithdrawInitiative,
    accept_initiative,
    add_note,
    answer_information_request,
    assign_lead,
    close_initiative,
    reject_initiative,
    request_information,
    submit_initiative,
    withdraw_initiative,
)
from services.intake.handlers.jobs import PurgeIdempotencyKeys, purge_idempotency_keys
from services.intake.handlers.queries import (
    ExportInitiatives,
    FindInitiatives,
    GetInitiative,
    GetInitiativeDetails,
    InitiativeDetails,
    export_initiatives,
    find_initiatives,
    get_initiative,
    get_initiative_details,
)
from shared.messagebus import Handler

HANDLERS: dict[type[Any], Handler] = {
    SubmitInitiative: submit_initiative,
    AcceptInitiative: accept_initiative,
    RejectInitiative: reject_initiative,
    RequestInformation: request_information,
    AnswerInformationRequest: answer_information_request,
    WithdrawInitiative: withdraw_initiative,
    CloseInitiative: close_initiative,
    AssignLead: assign_lead,
    AddNote: add_note,
    GetInitiative: get_initiative,
    FindInitiatives: find_initiatives,
    ExportInitiatives: export_initiatives,
    GetInitiativeDetails: get_initiative_details,
    PurgeIdempotencyKeys: purge_idempotency_keys,
}

__all__ = [
    "HANDLERS",
    "AcceptInitiative",
    "AddNote",
    "AnswerInformationRequest",
    "AssignLead",
    "CloseInitiative",
    "ExportInitiatives",
    "FindInitiatives",
    "GetInitiative",
    "GetInitiativeDetails",
    "IdempotencyKeyReused",
    "InitiativeDetails",
    "PurgeIdempotencyKeys",
    "RejectInitiative",
    "RequestInformation",
    "SubmitInitiative",
    "WithdrawInitiative",
]
