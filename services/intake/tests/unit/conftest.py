"""The unit tests' fake unit of work and the bus over it."""

from __future__ import annotations

import pytest

from services.intake.tests.unit.fakes import FakeUnitOfWork, fake_bus
from shared.messagebus import MessageBus


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def bus(uow: FakeUnitOfWork) -> MessageBus[FakeUnitOfWork]:
    return fake_bus(uow)
