"""Errors the domain raises and the edges translate (409, 404); free of any framework."""


class DomainError(Exception):
    """A rule of the domain refused the request."""


class InvalidTransition(DomainError):
    """The move is illegal from the current state; nothing changed."""

    def __init__(self, entity: str, current_status: str, action: str) -> None:
        article = "an" if entity[:1].lower() in "aeiou" else "a"
        super().__init__(f"cannot {action} {article} {entity} that is {current_status}")
        self.entity = entity
        self.current_status = current_status
        self.action = action


class NotFound(DomainError):
    def __init__(self, entity: str, identifier: object) -> None:
        super().__init__(f"{entity} {identifier} not found")
        self.entity = entity
        self.identifier = identifier
