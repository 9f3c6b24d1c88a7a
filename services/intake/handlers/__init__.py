"""Intake's use cases: commands (submit, decide, answer, withdraw), queries (the reads) and the
consumed events. HANDLERS is the one registry of commands and queries the bus dispatches."""

from typing import Any

from services.intake.handlers.commands import (
    AcceptInitiative,
    AddNote,
    AnswerInformationRequest,
    AssignLead,
    CloseInitiative,
    EraseOriginator,
    IdempotencyKeyReused,
    RejectInitiative,
    RequestInformation,
    RequestStatusLink,
    SubmitInitiative,
    WithdrawInitiative,
    accept_initiative,
    add_note,
    answer_information_request,
    assign_lead,
    close_initiative,
    erase_originator,
    reject_initiative,
    request_information,
    request_status_link,
    submit_initiative,
    withdraw_initiative,
)
from services.intake.handlers.jobs import (
    EraseExpiredOriginators,
    PurgeIdempotencyKeys,
    erase_expired_originators,
    purge_idempotency_keys,
)
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
    EraseOriginator: erase_originator,
    RequestStatusLink: request_status_link,
    GetInitiative: get_initiative,
    FindInitiatives: find_initiatives,
    ExportInitiatives: export_initiatives,
    GetInitiativeDetails: get_initiative_details,
    PurgeIdempotencyKeys: purge_idempotency_keys,
    EraseExpiredOriginators: erase_expired_originators,
}

__all__ = [
    "HANDLERS",
    "AcceptInitiative",
    "AddNote",
    "AnswerInformationRequest",
    "AssignLead",
    "CloseInitiative",
    "EraseExpiredOriginators",
    "EraseOriginator",
    "ExportInitiatives",
    "FindInitiatives",
    "GetInitiative",
    "GetInitiativeDetails",
    "IdempotencyKeyReused",
    "InitiativeDetails",
    "PurgeIdempotencyKeys",
    "RejectInitiative",
    "RequestInformation",
    "RequestStatusLink",
    "SubmitInitiative",
    "WithdrawInitiative",
]
