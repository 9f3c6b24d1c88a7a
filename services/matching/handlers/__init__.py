"""Matching's use cases, one function each: commands (coordinators steering proposals, members answering),
queries (what they read), jobs (the sweep, the
formation of accepted initiatives' groups) and events (what intake and resources tell matching). The steps
of a group's life they share are in group_life; HANDLERS is the one registry the bus is built from."""

from typing import Any

from services.matching.handlers import commands, jobs, queries
from services.matching.handlers.commands import (
    AnswerInvitation,
    BatchOutcome,
    ConfirmGroup,
    ProposeGroup,
    ProposeGroups,
    RemoveMember,
    ResendInvitation,
    SwapMember,
)
from services.matching.handlers.group_life import Forming
from services.matching.handlers.jobs import ProposeAccepted, PurgeSentEvents, SweepGroups
from services.matching.handlers.queries import (
    FindGroups,
    GetGroup,
    GetInitiative,
    GetInvitation,
    GroupDetails,
    GroupsFound,
    InvitationDetails,
    SuggestReplacements,
)
from shared.messagebus import Handler

HANDLERS: dict[type[Any], Handler] = {
    ProposeGroup: commands.propose_group,
    ProposeGroups: commands.propose_groups,
    SwapMember: commands.swap_member,
    RemoveMember: commands.remove_member,
    ConfirmGroup: commands.confirm_group,
    AnswerInvitation: commands.answer_invitation,
    ResendInvitation: commands.resend_invitation,
    GetGroup: queries.get_group,
    FindGroups: queries.find_groups,
    GetInitiative: queries.get_initiative,
    SuggestReplacements: queries.suggest_replacements,
    GetInvitation: queries.get_invitation,
    SweepGroups: jobs.sweep_groups,
    PurgeSentEvents: jobs.purge_sent_events,
    ProposeAccepted: jobs.propose_accepted,
}

__all__ = [
    "HANDLERS",
    "AnswerInvitation",
    "BatchOutcome",
    "ConfirmGroup",
    "FindGroups",
    "Forming",
    "GetGroup",
    "GetInitiative",
    "GetInvitation",
    "GroupDetails",
    "GroupsFound",
    "InvitationDetails",
    "ProposeAccepted",
    "ProposeGroup",
    "ProposeGroups",
    "PurgeSentEvents",
    "RemoveMember",
    "ResendInvitation",
    "SuggestReplacements",
    "SwapMember",
    "SweepGroups",
]
