"""Notifications's persistence: tables, repositories, unit of work."""

from services.notifications.db.tables import metadata
from services.notifications.db.unit_of_work import NotificationsUnitOfWork

__all__ = ["NotificationsUnitOfWork", "metadata"]
