"""The profile link leaves this database: resource_profiles keeps its version, deliveries a placeholder.

resource_profiles.profile_url becomes link_version, and the stored texts that carried a profile link get the
placeholder the sender signs the link into at send time (deliveries.profile_link_version says which version).

The version of a row already here is read from its link's token: the token's payload ("<resource id>" or
"<resource id>:<version>") is readable without the key that signed it (signed, not encrypted), and our own
events put it there. Storing version 0 for every row instead would put a revoked link (410 "replaced") in the
footers of everyone who had renewed theirs; 0 is kept only for a link whose token cannot be read at all.

Downgrade cannot bring the links back (this database never had the key): it forgets the versions, so later
footers go without the link until the person's next link email, and texts queued meanwhile keep the placeholder.
"""

import re
import uuid

import sqlalchemy as sa
from alembic import op
from itsdangerous import URLSafeTimedSerializer

revision, down_revision = "notifications_profile_versions", "notifications_unsubscribe_links"

PLACEHOLDER = "[[meetmalmo:profile-link]]"  # services.notifications.domain.PROFILE_LINK, as of this revision
# A profile link in a stored text: <web>/my/profile/<itsdangerous token (payload.timestamp.signature)>.
PROFILE_LINK = re.compile(r"https?://[^\s\"'<>]+/my/profile/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


def _named(token: str) -> tuple[str, int] | None:
    """(resource id, version) a token names, unverified; None if it names nothing readable."""
    try:
        _, payload = URLSafeTimedSerializer("any key").loads_unsafe(token)
    except Exception:
        return None
    if not isinstance(payload, str):
        return None
    subject, _, version = payload.partition(":")
    try:
        uuid.UUID(subject)
    except ValueError:
        return None
    return subject, int(version) if version.isdigit() else 0


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("resource_profiles") as batch:
        batch.add_column(sa.Column("link_version", sa.Integer(), nullable=False, server_default="0"))
    profiles = sa.table(
        "resource_profiles",
        sa.column("resource_id", sa.Uuid()),
        sa.column("profile_url", sa.Text()),
        sa.column("link_version", sa.Integer()),
    )
    for resource_id, url in bind.execute(sa.select(profiles.c.resource_id, profiles.c.profile_url)).all():
        token = url.split("?", 1)[0].rstrip("/").rpartition("/")[2]
        named = _named(token)
        if named and named[1]:
            bind.execute(profiles.update().where(profiles.c.resource_id == resource_id).values(link_version=named[1]))
    with op.batch_alter_table("resource_profiles") as batch:
        batch.drop_column("profile_url")

    op.add_column("deliveries", sa.Column("profile_link_version", sa.Integer(), nullable=True))
    deliveries = sa.table(
        "deliveries",
        sa.column("id", sa.Uuid()),
        sa.column("resource_id", sa.Uuid()),
        sa.column("body_text", sa.Text()),
        sa.column("body_html", sa.Text()),
        sa.column("profile_link_version", sa.Integer()),
    )
    carrying = sa.select(deliveries.c.id, deliveries.c.resource_id, deliveries.c.body_text, deliveries.c.body_html)
    carrying = carrying.where(
        sa.or_(deliveries.c.body_text.like("%/my/profile/%"), deliveries.c.body_html.like("%/my/profile/%"))
    )
    for delivery_id, resource_id, text, html in bind.execute(carrying).all():
        # Only the delivery's own resource's link becomes the placeholder (the only link the sender signs in).
        versions = set()

        def placeholder(
            match: re.Match[str], resource: uuid.UUID | None = resource_id, seen: set[int] = versions
        ) -> str:
            named = _named(match.group(1))
            if resource is None or named is None or named[0] != str(resource):
                return match.group(0)
            seen.add(named[1])
            return PLACEHOLDER

        text, html = (PROFILE_LINK.sub(placeholder, body) if body else body for body in (text, html))
        if len(versions) != 1:  # none of theirs, or two versions in one text: left as it was
            continue
        bind.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id)
            .values(body_text=text, body_html=html, profile_link_version=versions.pop())
        )


def downgrade() -> None:
    op.drop_column("deliveries", "profile_link_version")
    op.execute("DELETE FROM resource_profiles")
    with op.batch_alter_table("resource_profiles") as batch:
        batch.add_column(sa.Column("profile_url", sa.Text(), nullable=False, server_default=""))
        batch.drop_column("link_version")
