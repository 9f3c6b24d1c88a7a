"""Every page a person sees, one module per area; GET shows, only a button's POST acts, and every POST
carries the session's CSRF token (pages.edges.PostRouter checks it)."""

from services.web.pages import (
    console_emails,
    console_groups,
    console_initiatives,
    console_resources,
    console_status,
    links,
    portal,
    staff_auth,
)

ROUTERS = [
    portal.router,
    staff_auth.router,
    console_initiatives.router,
    console_groups.router,
    console_resources.router,
    console_emails.router,
    console_status.router,
    links.router,
    links.one_click,  # RFC 8058's one-click unsubscribe: the one POST without a session (it checks CSRF itself)
]
