"""Resources's use cases: commands, queries and the periodic job, one small function each.

HANDLERS is the one registry the message bus is built from (bootstrap.py).
"""

from typing import Any

from services.resources.handlers import commands, jobs, queries
from services.resources.handlers.commands import (
    ConfirmRegistration,
    EraseResource,
    PauseResource,
    RegisterResource,
    RegisterResourceDirectly,
    RenewProfileLink,
    RequestProfileLink,
    ResumeResource,
    UpdateProfile,
    WithdrawResource,
)
from services.resources.handlers.jobs import PurgeUnconfirmed
from services.resources.handlers.queries import ExportPersonalData, FindResources, GetResource, ReadConfirmationLink
from shared.messagebus import Handler

HANDLERS: dict[type[Any], Handler] = {
    RegisterResource: commands.register,
    RegisterResourceDirectly: commands.register_directly,
    ConfirmRegistration: commands.confirm,
    UpdateProfile: commands.update_profile,
    PauseResource: commands.pause,
    ResumeResource: commands.resume,
    WithdrawResource: commands.withdraw,
    EraseResource: commands.erase,
    RequestProfileLink: commands.request_profile_link,
    RenewProfileLink: commands.renew_profile_link,
    FindResources: queries.find_resources,
    GetResource: queries.get_resource,
    ExportPersonalData: queries.export_personal_data,
    ReadConfirmationLink: queries.read_confirmation_link,
    PurgeUnconfirmed: jobs.purge_unconfirmed,
}

__all__ = [
    "HANDLERS",
    "ConfirmRegistration",
    "EraseResource",
    "ExportPersonalData",
    "FindResources",
    "GetResource",
    "PauseResource",
    "PurgeUnconfirmed",
    "ReadConfirmationLink",
    "RegisterResource",
    "RegisterResourceDirectly",
    "RenewProfileLink",
    "RequestProfileLink",
    "ResumeResource",
    "UpdateProfile",
    "WithdrawResource",
]
