from alembic import context

from services.resources.db import metadata
from shared.migrations import run_env

run_env(context, metadata)
