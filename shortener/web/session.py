"""Cookie sign-in for the pages: the API's JWT in an HttpOnly cookie, and signed flash messages.

The session cookie holds a token like the one `/api/auth/token` issues, checked by the same
function (auth.sessions.signed_in), so disabling an account, changing its password or ending
the session (here, or through /api/auth/sessions) signs it out here too.

Unlike API tokens, the cookie slides: SESSION_IDLE_MINUTES without a page ends it ("Remember
me": SESSION_REMEMBER_DAYS), each use renews it once half of that has gone, and none outlives
SESSION_MAX_DAYS. The renewed cookie is found by a dependency, which cannot set headers on the
Response a page returns, so RenewedSessionCookie adds it to whatever answer goes out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shortener.auth.sessions import (
    SignedIn,
    end_session,
    renew_session,
    signed_in,
    start_session,
)
from shortener.config import Settings
from shortener.db import SessionDep, settle
from shortener.models import User
from shortener.runtime import runtime_of
from shortener.sealed import Sealer
from shortener.workspaces import service as workspaces
from shortener.workspaces.acting import Acting
from shortener.workspaces.deps import acts
from shortener.workspaces.paths import workspace_slug
from shortener.workspaces.roles import Permission

SESSION_COOKIE = "session"
FLASH_COOKIE = "flash"
DEFAULT_NEXT = "/dashboard"
# Where optional_sign_in leaves a renewed cookie's Set-Cookie value for RenewedSessionCookie.
RENEWED = "renewed_session_cookie"
# And the renewed token itself: the session cookie the browser holds once this answer lands.
RENEWED_TOKEN = "renewed_session_token"  # noqa: S105 (a key of the request state)


def session_cookie(request: Request) -> str:
    """The session cookie the browser will send next: the renewed one when this request renewed
    it, else the one it sent ("" when none). What a page's form tokens must be bound to."""
    renewed = request.scope.get("state", {}).get(RENEWED_TOKEN)
    return renewed if isinstance(renewed, str) else request.cookies.get(SESSION_COOKIE, "")


class LoginRequired(Exception):
    """A signed-out visitor asked for a page that needs an account: send them to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def location(self) -> str:
        return f"/login?next={quote(self.next_path, safe='/')}"


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )


async def sign_in(
    response: Response,
    settings: Settings,
    session: AsyncSession,
    user: User,
    *,
    remember: bool = False,
) -> None:
    idle = (
        timedelta(days=settings.session_remember_days)
        if remember
        else timedelta(minutes=settings.session_idle_minutes)
    )
    token, lifetime = await start_session(
        session,
        user=user,
        kind="dashboard",
        key=settings.signing_key,
        lifetime=min(idle, timedelta(days=settings.session_max_days)),
        idle=idle,
    )
    # Max-Age is the session's own end, so the browser never keeps a cookie the server would
    # refuse: an hour idle by default (a restart within it keeps you in), weeks remembered.
    set_cookie(response, settings, SESSION_COOKIE, token, lifetime)


async def sign_out(
    response: Response, settings: Settings, session: AsyncSession, current: SignedIn | None
) -> None:
    """Clear the cookie and end the session it held: a copy of the cookie is worth nothing."""
    if current is not None:
        await end_session(session, user=current.user, session_id=current.session.id or 0)
    clear_cookie(response, settings, SESSION_COOKIE)


async def optional_sign_in(request: Request, session: SessionDep) -> SignedIn | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    settings = runtime_of(request).settings
    found = await signed_in(session, token=token, key=settings.signing_key)
    if found is not None:
        cap = timedelta(days=settings.session_max_days)
        renewed = await renew_session(session, found, key=settings.signing_key, cap=cap)
        if renewed is not None:
            carrier = Response()
            set_cookie(carrier, settings, SESSION_COOKIE, *renewed)
            state = request.scope.setdefault("state", {})
            state[RENEWED] = carrier.headers["set-cookie"]
            state[RENEWED_TOKEN] = renewed[0]
    await settle(session)
    return found


class RenewedSessionCookie:
    """Adds a renewed session cookie (see optional_sign_in) to the answer, unless the answer
    sets the session cookie itself (signing in or out decides for itself)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cookie(message: Message) -> None:
            cookie = state.get(RENEWED) if message["type"] == "http.response.start" else None
            if cookie is not None:
                headers = MutableHeaders(scope=message)
                sets = headers.getlist("set-cookie")
                if not any(value.startswith(f"{SESSION_COOKIE}=") for value in sets):
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def optional_user(
    current: Annotated[SignedIn | None, Depends(optional_sign_in)],
) -> User | None:
    return current.user if current is not None else None


async def page_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else DEFAULT_NEXT)
    return user


MaybeSignIn = Annotated[SignedIn | None, Depends(optional_sign_in)]
MaybeUser = Annotated[User | None, Depends(optional_user)]
PageUser = Annotated[User, Depends(page_user)]


async def page_member(request: Request, session: SessionDep, user: PageUser) -> Acting:
    """The signed-in user in the workspace of the page's /w/{slug}/ prefix, or without one in
    their personal workspace; a workspace they are no member of is a 404, as in the API.
    As such it serves the workspace page and leaving: open to a member the workspace's
    two-factor rule shuts out of everything else, as the API's member routes are."""
    acting = await workspaces.member_as(session, user=user, slug=workspace_slug(request))
    await settle(session)  # see shortener.workspaces.deps.act
    return acting


async def page_acting(request: Request, session: SessionDep, user: PageUser) -> Acting:
    """page_member held to the workspace's two-factor rule: every other page."""
    acting = await page_member(request, session, user)
    workspaces.check_two_factor(acting.workspace, user)
    return acting


def _page_acts(permission: Permission) -> Any:
    return Depends(acts(permission, source=page_acting))


# What each page needs of the user's role there (workspaces/roles.py), checked as the API
# checks it: a viewer's form post is a 403 page, not a change.
PageActing = Annotated[Acting, Depends(page_acting)]
PageMember = Annotated[Acting, Depends(page_member)]
PageReader = Annotated[Acting, _page_acts("links:read")]
PageStats = Annotated[Acting, _page_acts("stats:read")]
PageWriter = Annotated[Acting, _page_acts("links:write")]
PageDomains = Annotated[Acting, _page_acts("domains:write")]
PageKeys = Annotated[Acting, _page_acts("keys:write")]
PageHooksReader = Annotated[Acting, _page_acts("webhooks:read")]
PageHooksWriter = Annotated[Acting, _page_acts("webhooks:write")]
# Reading a workspace's audit log is managing it, as in the API (audit/api.py).
PageAuditReader = Annotated[Acting, _page_acts("members:write")]


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in; anything that could leave the site is dropped.

    Browsers treat `//host`, `/\\host` and `\\\\host` as other sites, and strip tabs and
    newlines before parsing, so all of those are refused, not repaired.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in value or any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return value


# ---- flash messages: one message carried across a redirect in a sealed cookie -----------
#
# Sealed (AES-GCM), not only signed: a flash may carry what a page shows once and never again,
# a new API key or invitation link, so that the form's answer is a redirect (a reload does not
# post it again and make a second one) and the secret is readable by nobody on its way.

FlashKind = Literal["success", "error", "info"]
FLASH_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Flash:
    message: str
    kind: FlashKind = "success"
    # Values the next page shows once, to the user they were made for (`for_user`).
    shown: dict[str, str] | None = None
    for_user: int | None = None

    def shown_to(self, user: User | None) -> dict[str, str] | None:
        if self.shown is None or user is None or user.id != self.for_user:
            return None
        return self.shown


def _flash_sealer(settings: Settings) -> Sealer:
    return Sealer(settings.signing_key, "shortener flash")


def set_flash(response: Response, settings: Settings, flash: Flash) -> None:
    data = {"m": flash.message, "k": flash.kind, "s": flash.shown, "u": flash.for_user}
    sealed = _flash_sealer(settings).seal(json.dumps(data).encode(), FLASH_COOKIE)
    set_cookie(response, settings, FLASH_COOKIE, sealed, FLASH_SECONDS)


def read_flash(request: Request) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    plain = _flash_sealer(runtime_of(request).settings).open(raw, FLASH_COOKIE) if raw else None
    if plain is None:
        return None
    try:
        data = json.loads(plain)
        kind = data.get("k")
        shown = data.get("s")
        return Flash(
            str(data["m"]),
            kind if kind in ("success", "error", "info") else "info",
            {str(k): str(v) for k, v in shown.items()} if isinstance(shown, dict) else None,
            data["u"] if isinstance(data.get("u"), int) else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
