"""PostgreSQL: a trigram index on titles for the duplicate hint; reference numbers from a sequence per year.

The sequences of years already numbered start after the last number handed out, so no reference repeats.
SQLite keeps its counters (it has one writer at a time anyway).
"""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0006", "intake_rate_limits"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # a trusted extension: the database owner may create it
    op.execute("CREATE INDEX ix_initiatives_title_trgm ON initiatives USING gin (lower(title) gin_trgm_ops)")
    for year, last in op.get_bind().execute(sa.text("SELECT year, last_number FROM reference_counters")):
        op.execute(f"CREATE SEQUENCE IF NOT EXISTS initiative_reference_{int(year)} START WITH {int(last) + 1}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_initiatives_title_trgm")
    sequences = op.get_bind().execute(
        sa.text("SELECT sequencename, last_value FROM pg_sequences WHERE sequencename LIKE 'initiative_reference_%'")
    )
    for name, last in list(sequences):
        year = int(name.rsplit("_", 1)[1])
        if last is not None:
            op.get_bind().execute(
                sa.text(
                    "INSERT INTO reference_counters (year, last_number) VALUES (:year, :last) ON CONFLICT (year) "
                    "DO UPDATE SET last_number = GREATEST(reference_counters.last_number, :last)"
                ),
                {"year": year, "last": int(last)},
            )
        op.execute(f"DROP SEQUENCE {name}")
