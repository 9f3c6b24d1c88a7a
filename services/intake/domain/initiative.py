"""The Initiative aggregate: its state machine and its history. No I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from shared.errors import InvalidTransition
from shared.taxonomy import Competence, Language, OrganisationType, Seeking, Theme


class Status(StrEnum):
    SUBMITTED = "submitted"
    INFO_REQUESTED = "info_requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    GROUP_FORMING = "group_forming"
    GROUP_FORMED = "group_formed"
    CLOSED = "closed"


class Action(StrEnum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    REJECT = "reject"
    REQUEST_INFO = "request_info"
    ANSWER = "answer"
    WITHDRAW = "withdraw"
    START_GROUP_FORMING = "start_group_forming"
    MARK_GROUP_FORMED = "mark_group_formed"
    CLOSE = "close"
    ASSIGN_LEAD = "assign_lead"
    ERASE_ORIGINATOR = "erase_originator"


class Channel(StrEnum):
    """How the initiative reached Meet Malmö: the portal's form, or a coordinator's personal meeting."""

    PORTAL = "portal"
    MEETING = "meeting"


# Which statuses each action may start from, and where it leads.
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.ACCEPT: (frozenset({Status.SUBMITTED}), Status.ACCEPTED),
    Action.REJECT: (frozenset({Status.SUBMITTED}), Status.REJECTED),
    Action.REQUEST_INFO: (frozenset({Status.SUBMITTED}), Status.INFO_REQUESTED),
    Action.ANSWER: (frozenset({Status.INFO_REQUESTED}), Status.SUBMITTED),
    # Withdrawing while a group forms is allowed too: the originator must be able to stop the work
    # until the group is formed; matching dissolves the group on InitiativeWithdrawn.
    Action.WITHDRAW: (
        frozenset({Status.SUBMITTED, Status.INFO_REQUESTED, Status.ACCEPTED, Status.GROUP_FORMING}),
        Status.WITHDRAWN,
    ),
    Action.START_GROUP_FORMING: (frozenset({Status.ACCEPTED}), Status.GROUP_FORMING),
    Action.MARK_GROUP_FORMED: (frozenset({Status.ACCEPTED, Status.GROUP_FORMING}), Status.GROUP_FORMED),
    Action.CLOSE: (frozenset({Status.GROUP_FORMED}), Status.CLOSED),
}

OPEN_STATUSES = frozenset({Status.SUBMITTED, Status.INFO_REQUESTED, Status.ACCEPTED, Status.GROUP_FORMING})
# Where an initiative ends: nothing more happens to it, and its originator's contact is kept only for the
# retention (INTAKE_ORIGINATOR_RETENTION_DAYS) after it got there.
ENDED_STATUSES = frozenset({Status.REJECTED, Status.WITHDRAWN, Status.CLOSED})

ERASED_NAME = "(erased)"  # as shared.contracts.personal_data blanks it in events


@dataclass(frozen=True)
class Originator:
    organisation_name: str
    organisation_type: OrganisationType
    organisation_number: str | None
    contact_name: str
    contact_email: str
    contact_phone: str | None

    @property
    def contact_erased(self) -> bool:
        return self.contact_name == ERASED_NAME and not self.contact_email and self.contact_phone is None

    @property
    def contact_details(self) -> tuple[str, ...]:
        """The contact person's personal data as text (name, email, phone): what erasure looks for."""
        return tuple(v for v in (self.contact_name, self.contact_email, self.contact_phone) if v)

    def without_contact(self) -> Originator:
        """The organisation stays (it is not a person); its contact person's name, email and phone go."""
        return replace(self, contact_name=ERASED_NAME, contact_email="", contact_phone=None)


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    actor: str
    action: Action
    from_status: Status | None
    to_status: Status
    note: str | None = None


@dataclass(frozen=True)
class Note:
    """A coordinator's private note on an initiative: staff only, never shown to the originator."""

    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class Receipt:
    """What the portal is told on submission, and told again for a retry with the same Idempotency-Key."""

    id: uuid.UUID
    reference: str
    status: Status
    submitted_at: datetime


@dataclass
class Proposal:
    """What the originator proposes through the portal: the idea, who stands behind it, what it needs."""

    title: str
    summary: str
    description: str
    originator: Originator
    themes: tuple[Theme, ...]
    seeking: tuple[Seeking, ...]
    competences_needed: tuple[Competence, ...]
    group_size_min: int
    group_size_max: int
    language: Language


@dataclass
class Initiative(Proposal):
    """A proposal on its way: numbered, moved through its statuses, each step kept in its history."""

    id: uuid.UUID
    reference: str
    submitted_at: datetime
    status: Status = Status.SUBMITTED
    updated_at: datetime | None = None
    history: list[StatusChange] = field(default_factory=list)
    lead: str | None = None
    channel: Channel = Channel.PORTAL
    registered_by: str | None = None
    notes: list[Note] = field(default_factory=list)
    # The originator's status link names this version: re-issuing it makes every link sent before stop working.
    status_link_version: int = 0

    @classmethod
    def submit(
        cls,
        proposal: Proposal,
        *,
        id: uuid.UUID,
        reference: str,
        at: datetime,
        registered_by: str | None = None,
    ) -> Initiative:
        """The new initiative from the originator's proposal, with its id and its reference. A coordinator
        who `registered_by` it (received at a personal meeting, the originator's consent confirmed) is the
        submission's actor."""
        initiative = cls(**vars(proposal), id=id, reference=reference, submitted_at=at, updated_at=at)
        if registered_by is not None:
            initiative.channel, initiative.registered_by = Channel.MEETING, registered_by
        actor = registered_by or "originator"
        initiative.history.append(StatusChange(at, actor, Action.SUBMIT, None, Status.SUBMITTED))
        return initiative

    def can(self, action: Action) -> bool:
        return self.status in TRANSITIONS[action][0]

    def _move(self, action: Action, actor: str, at: datetime, note: str | None = None) -> None:
        allowed_from, to = TRANSITIONS[action]
        if self.status not in allowed_from:
            raise InvalidTransition("initiative", self.status.value, action.value.replace("_", " "))
        self.history.append(StatusChange(at, actor, action, self.status, to, note))
        self.status = to
        self.updated_at = at

    def accept(self, by: str, at: datetime) -> None:
        self._move(Action.ACCEPT, by, at)

    def reject(self, by: str, reason: str, at: datetime) -> None:
        self._move(Action.REJECT, by, at, reason)

    def request_info(self, by: str, message: str, at: datetime) -> None:
        self._move(Action.REQUEST_INFO, by, at, message)

    def answer(self, answer: str, at: datetime, *, summary: str | None = None, description: str | None = None) -> None:
        """The originator answers an information request, optionally improving the text."""
        self._move(Action.ANSWER, "originator", at, answer)
        if summary is not None:
            self.summary = summary
        if description is not None:
            self.description = description

    def withdraw(self, by: str, at: datetime, reason: str | None = None) -> None:
        self._move(Action.WITHDRAW, by, at, reason)

    def close(self, by: str, at: datetime) -> None:
        self._move(Action.CLOSE, by, at)

    def assign_lead(self, lead: str | None, by: str, at: datetime) -> bool:
        """Make `lead` (a coordinator's email) the one who follows the initiative, or nobody (None); kept in
        the history, in any status. False when `lead` already leads it: nothing changes."""
        if lead == self.lead:
            return False
        self.history.append(StatusChange(at, by, Action.ASSIGN_LEAD, self.status, self.status, lead))
        self.lead = lead
        self.updated_at = at
        return True

    def erase_originator(self, by: str, at: datetime) -> tuple[str, ...]:
        """Forget the contact person's name, email and phone, in any status: the initiative and its work go
        on. Kept in the history as a step by `by` (without what was erased); their texts in the history's
        and the staff's notes are blanked too. Returns what was erased, for the stored copies elsewhere;
        nothing (and no step) when it was erased before."""
        if self.originator.contact_erased:
            return ()
        erased = self.originator.contact_details
        self.originator = self.originator.without_contact()
        self.history = [replace(c, note=_without(c.note, erased)) for c in self.history]
        self.notes = [replace(n, text=_without(n.text, erased) or "") for n in self.notes]
        self.history.append(StatusChange(at, by, Action.ERASE_ORIGINATOR, self.status, self.status))
        self.updated_at = at
        return erased

    def ended_before(self, moment: datetime) -> bool:
        """Ended (rejected, withdrawn, closed) with its last step before `moment`."""
        moves = self.status_changes
        return self.status in ENDED_STATUSES and (moves[-1].at if moves else self.submitted_at) < moment

    def reissue_status_link(self) -> None:
        """A new status link for the originator, who lost theirs: every link sent before is revoked."""
        self.status_link_version += 1

    def sent_by(self, email: str) -> bool:
        """Whether `email` is the contact address the originator gave (any case, surrounding spaces ignored)."""
        if self.originator.contact_erased:
            return False
        return email.strip().casefold() == self.originator.contact_email.strip().casefold()

    def add_note(self, author: str, text: str, at: datetime) -> Note:
        """A private staff note; not a step of the initiative, so neither its history nor its status changes."""
        note = Note(at, author, text)
        self.notes.append(note)
        return note

    def group_proposed(self, at: datetime) -> bool:
        """Matching proposed a group. Returns False when the state was already reached (a replay)."""
        if self.status in {Status.GROUP_FORMING, Status.GROUP_FORMED, Status.CLOSED}:
            return False
        if not self.can(Action.START_GROUP_FORMING):
            return False  # e.g. withdrawn meanwhile: the late proposal changes nothing here
        self._move(Action.START_GROUP_FORMING, "matching", at)
        return True

    def group_formed(self, at: datetime) -> bool:
        if self.status in {Status.GROUP_FORMED, Status.CLOSED} or not self.can(Action.MARK_GROUP_FORMED):
            return False
        self._move(Action.MARK_GROUP_FORMED, "matching", at)
        return True

    @property
    def receipt(self) -> Receipt:
        return Receipt(self.id, self.reference, self.status, self.submitted_at)

    @property
    def pending_question(self) -> str | None:
        """The coordinator's message while an information request is open."""
        if self.status is Status.INFO_REQUESTED:
            asked = [c for c in self.history if c.action is Action.REQUEST_INFO]
            return asked[-1].note if asked else None
        return None

    @property
    def status_changes(self) -> list[StatusChange]:
        """The history's steps that moved the status (without the staff's lead assignments)."""
        return [c for c in self.history if c.action not in (Action.ASSIGN_LEAD, Action.ERASE_ORIGINATOR)]


def _without(text: str | None, erased: tuple[str, ...]) -> str | None:
    """The text with each erased value replaced by ERASED_NAME."""
    if text is None:
        return None
    for value in sorted(erased, key=len, reverse=True):
        text = text.replace(value, ERASED_NAME)
    return text


def format_reference(year: int, number: int) -> str:
    return f"MM-{year}-{number:04d}"
