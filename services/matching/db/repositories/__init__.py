"""One repository per aggregate: the Group (with its seats), and the two projections it is formed from."""

from services.matching.db.repositories.groups import GroupRepository
from services.matching.db.repositories.initiatives import InitiativeRepository
from services.matching.db.repositories.resources import ResourceRepository

__all__ = ["GroupRepository", "InitiativeRepository", "ResourceRepository"]
