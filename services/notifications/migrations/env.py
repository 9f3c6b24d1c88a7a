from alembic import context

from services.notifications.db import metadata
from shared.migrations import run_env

run_env(context, metadata)
