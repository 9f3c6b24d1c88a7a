"""Staff sign-in: OpenID Connect with the city's identity provider (authlib; roles from a claim), or,
for `make run` only, a local page that picks a name, email and role and mints a local token — never
offered when real OIDC settings are present. The session is made anew at sign-in and ends on
sign-out or when idle; `next` only ever leads back into this site."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from authlib.integrations.starlette_client import OAuth
from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.web.pages.edges import PagesDep, SettingsDep, page_router
from services.web.sessions import touch
from services.web.settings import Settings
from shared.auth import Role, issue_local_token

router = page_router()
LOCAL_TOKEN_HOURS = 8


@dataclass(frozen=True)
class SignedIn:
    """The staff member the session belongs to, with the token the services check."""

    name: str
    email: str
    roles: frozenset[str]
    token: str

    def may(self, *roles: Role) -> bool:
        return bool(self.roles & {role.value for role in roles})


class NotSignedIn(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def safe_next(value: str | None) -> str:
    """A path on this site, never another site (no open redirect after sign-in)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/staff"


def signed_in(request: Request, settings: SettingsDep) -> SignedIn:
    staff: dict[str, Any] | None = request.session.get("staff")
    if staff is None or not touch(request, settings.session_idle_minutes * 60):
        raise NotSignedIn(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return SignedIn(staff["name"], staff["email"], frozenset(staff["roles"]), staff["token"])


def coordinator(staff: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    if not staff.may(Role.COORDINATOR):
        raise HTTPException(403, "Only coordinators can do this.")
    return staff


def reader(staff: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    if not staff.may(Role.COORDINATOR, Role.OPERATOR):
        raise HTTPException(403, "Only coordinators and operators can see this.")
    return staff


StaffDep = Annotated[SignedIn, Depends(reader)]
CoordinatorDep = Annotated[SignedIn, Depends(coordinator)]


def oauth_for(settings: Settings) -> OAuth | None:
    if settings.oidc_issuer is None:
        return None
    oauth = OAuth()
    oauth.register(
        "city",
        server_metadata_url=f"{str(settings.oidc_issuer).rstrip('/')}/.well-known/openid-configuration",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None,
        client_kwargs={"scope": "openid email profile"},
    )
    return oauth


def _begin_session(request: Request, name: str, email: str, roles: list[str], token: str) -> None:
    request.session.clear()  # a new session at sign-in: nothing from before carries over
    request.session["staff"] = {"name": name, "email": email, "roles": roles, "token": token}
    touch(request, 1)


@router.get("/staff/sign-in", response_model=None)
async def sign_in_page(request: Request, pages: PagesDep, settings: SettingsDep, next: str | None = None) -> Response:
    oauth = request.app.state.oauth
    if oauth is not None:
        request.session["next"] = safe_next(next)
        redirect_uri = f"{str(settings.public_url).rstrip('/')}/staff/auth/callback"
        return await oauth.city.authorize_redirect(request, redirect_uri)  # type: ignore[no-any-return]
    return pages.render(request, "staff/sign_in.html", {"next": safe_next(next), "values": {}, "errors": {}})


@router.post("/staff/sign-in", response_model=None)
async def local_sign_in(request: Request, pages: PagesDep, settings: SettingsDep) -> Response:
    if not settings.local_sign_in:
        raise HTTPException(404, "Not here.")
    form = await request.form()
    name, email, role = (str(form.get(key) or "").strip() for key in ("name", "email", "role"))
    errors = {
        key: {"type": "missing", "reason": ""}
        for key, value in (("name", name), ("email", email if "@" in email else ""), ("role", role))
        if not value or (key == "role" and value not in {r.value for r in Role})
    }
    if errors:
        context = {"next": safe_next(str(form.get("next") or "")), "values": dict(form), "errors": errors}
        return pages.render(request, "staff/sign_in.html", context, status_code=422)
    token = issue_local_token(settings.platform, email=email, roles=[role], hours=LOCAL_TOKEN_HOURS)
    _begin_session(request, name, email, [role], token)
    return RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)


@router.get("/staff/auth/callback", response_model=None)
async def oidc_callback(request: Request, settings: SettingsDep) -> Response:
    oauth = request.app.state.oauth
    if oauth is None:
        raise HTTPException(404, "Not here.")
    token = await oauth.city.authorize_access_token(request)
    claims = token.get("userinfo") or {}
    roles = claims.get(settings.oidc_roles_claim) or []
    roles = [roles] if isinstance(roles, str) else list(roles)
    next_path = safe_next(request.session.get("next"))
    name = str(claims.get("name") or claims.get("email") or claims.get("sub"))
    _begin_session(request, name, str(claims.get("email") or claims.get("sub")), roles, token["access_token"])
    return RedirectResponse(next_path, status_code=303)


@router.post("/staff/sign-out", response_model=None)
async def sign_out(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


def sign_in_redirect(exc: NotSignedIn) -> RedirectResponse:
    return RedirectResponse(f"/staff/sign-in?next={quote(exc.next_path, safe='/')}", status_code=303)
