"""One shape for every use case, as in cosmicpython: a handler is a small function
`(message, uow, *dependencies)`; the bus hands each call a fresh unit of work and binds the
dependencies the handler names in its signature (a clock, links, settings). Handlers are registered
in one place per service (`handlers/__init__.py`), and the composition root builds the bus."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from shared.unit_of_work import UnitOfWork

U = TypeVar("U", bound=UnitOfWork)
Handler = Callable[..., Awaitable[Any]]


def inject(handler: Handler, dependencies: Mapping[str, Any]) -> Handler:
    """The handler with the dependencies its signature names bound; the message and uow stay arguments."""
    wanted = inspect.signature(handler).parameters
    return functools.partial(handler, **{name: value for name, value in dependencies.items() if name in wanted})


class MessageBus(Generic[U]):
    """Commands (`SubmitInitiative`), queries (`FindInitiatives`) and jobs (`PurgeUnconfirmed`) go in;
    the registered handler's result comes out. Edges (routes, jobs) call `handle`; consumers call the
    event handlers bound by `bind`, inside the unit of work that also records the event as processed."""

    def __init__(
        self,
        uow_factory: Callable[[], U],
        handlers: Mapping[type[Any], Handler],
        dependencies: Mapping[str, Any],
    ) -> None:
        self.uow_factory = uow_factory
        self._dependencies = dict(dependencies)
        self._handlers = {message_type: inject(handler, dependencies) for message_type, handler in handlers.items()}

    async def handle(self, message: object) -> Any:
        try:
            handler = self._handlers[type(message)]
        except KeyError:
            raise LookupError(f"no handler is registered for {type(message).__name__}") from None
        return await handler(message, self.uow_factory())

    def bind(self, handler: Handler) -> Handler:
        """An event handler `(event, uow, envelope, *dependencies)` with its dependencies bound."""
        return inject(handler, self._dependencies)


H = TypeVar("H", bound=Handler)


def retry_once_on(*errors: type[BaseException]) -> Callable[[H], H]:
    """Run the handler a second time when the first run lost a race (a concurrent writer, a duplicate
    key); its unit of work opens a fresh transaction on the second `async with`."""

    def decorate(handler: H) -> H:
        @functools.wraps(handler)
        async def once_more(*args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(*args, **kwargs)
            except errors:
                return await handler(*args, **kwargs)

        return once_more  # type: ignore[return-value]

    return decorate
