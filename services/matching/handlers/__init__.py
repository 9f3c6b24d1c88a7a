"""Matching's use cases, one module per concern: projections (consumed events), proposals (coordinators
steering them), reads (what coordinators see), invitations (confirm, answers, the sweep). They share the
plumbing and a group's life steps in base; `MatchingHandlers` is all of them in the one object bootstrap wires."""

from services.matching.handlers.invitations import InvitationDetails, InvitationHandlers
from services.matching.handlers.projections import ProjectionHandlers
from services.matching.handlers.proposals import ProposalHandlers
from services.matching.handlers.reads import GroupDetails, ReadHandlers


class MatchingHandlers(ProjectionHandlers, ProposalHandlers, ReadHandlers, InvitationHandlers):
    """Every use case of matching, built once in bootstrap.py and handed to the API and the consumers."""


__all__ = ["GroupDetails", "InvitationDetails", "MatchingHandlers"]
