"""Two-factor sign-in in the dashboard: the sign-in's second step and /dashboard/security.

The second step never sees the password again: once /login found it right, the page carries a
short-lived signed pending sign-in (user id, token version, expiry), not the password, to
/login/2fa. A password change or a disabled account voids it (the token version moves on).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from shortener.auth import sessions, totp
from shortener.auth.limits import login_attempt
from shortener.auth.second_factor import check_second_factor, counting_wrong_codes, issuer_of
from shortener.auth.tokens import read_token
from shortener.db import SessionDep
from shortener.errors import Conflict, Invalid, NotFound, Unauthorized
from shortener.fields import RowId
from shortener.models import User
from shortener.runtime import runtime_of
from shortener.web.csrf import check_csrf
from shortener.web.forms import domain_errors, form_values
from shortener.web.pages import redirect, render
from shortener.web.session import SESSION_COOKIE, PageUser, clear_cookie, safe_next, sign_in

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
PENDING_SECONDS = 300  # time enough to open the app and type 6 digits
SECURITY_PAGE = "/dashboard/security"
CODE_FIELD = ("code",)
T = TypeVar("T")


# ---- the pending sign-in ------------------------------------------------------------------


def _mac(key: str, payload: str) -> str:
    digest = hmac.new(key.encode(), b"2fa-pending|" + payload.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def pending_token(key: str, user: User) -> str:
    payload = f"{user.id}.{user.token_version}.{int(time.time()) + PENDING_SECONDS}"
    return f"{payload}.{_mac(key, payload)}"


async def _pending_user(session: AsyncSession, key: str, token: str) -> User | None:
    """The user a pending sign-in names, or None if it is forged, expired or void."""
    payload, _, mac = token.rpartition(".")
    parts = payload.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    if not hmac.compare_digest(mac, _mac(key, payload)) or int(parts[2]) < time.time():
        return None
    user = await session.get(User, int(parts[0]))
    if user is None or not user.is_active or user.token_version != int(parts[1]):
        return None
    return user


def render_second_step(
    request: Request, user: User, next_path: str, error: str | None = None, *, remember: bool
) -> Response:
    """The form that asks for the code (what /login answers when the account needs one)."""
    context = {
        "pending": pending_token(runtime_of(request).settings.signing_key, user),
        "next": next_path,
        "remember": remember,  # the sign-in form's "Remember me", carried to the end
        "errors": {"otp": error} if error else {},
    }
    return render(request, "login_2fa.html", context, status=400 if error else 200)


@router.post("/login/2fa", dependencies=[Csrf])
async def second_step(request: Request, session: SessionDep) -> Response:
    values = form_values(await request.form(), ("pending", "otp", "next", "remember"))
    remember = bool(values["remember"])
    next_path = safe_next(values["next"])
    settings = runtime_of(request).settings
    user = await _pending_user(session, settings.signing_key, values["pending"])
    if user is None:
        return redirect(
            request, "/login", "That sign-in has expired: please sign in again.", "error"
        )
    await login_attempt(request, user.email)
    try:
        await check_second_factor(request, session, user=user, code=values["otp"])
    except Unauthorized:
        return render_second_step(
            request, user, next_path, "That code is not right.", remember=remember
        )
    response = redirect(request, next_path)
    await sign_in(response, settings, session, user, remember=remember)
    return response


# ---- /dashboard/security --------------------------------------------------------------------


async def _security_page(
    request: Request, session: AsyncSession, user: User, status: int = 200, **extra: Any
) -> Response:
    settings = runtime_of(request).settings
    setup = totp.pending_setup(user, signing_key=settings.signing_key, issuer=issuer_of(request))
    # This browser's session: the one its cookie names (it signs out with "Sign out").
    claims = read_token(request.cookies.get(SESSION_COOKIE, ""), key=settings.signing_key)
    context: dict[str, Any] = {
        "enabled": user.totp_enabled,
        "setup": setup,
        "remaining": await totp.remaining_recovery_codes(session, user=user),
        "sessions": await sessions.list_sessions(session, user=user),
        "current_sid": claims.sid if claims is not None else None,
        **extra,
    }
    if setup is not None:
        # An <img> of the SVG, not inline markup: the page's CSP allows data: images.
        svg = base64.b64encode(setup.qr_svg.encode()).decode()
        context["qr_src"] = f"data:image/svg+xml;base64,{svg}"
    return render(request, "security.html", context, user=user, status=status)


@router.get(SECURITY_PAGE)
async def security_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    return await _security_page(request, session, user)


@router.post(SECURITY_PAGE + "/2fa/setup", dependencies=[Csrf])
async def setup(request: Request, user: PageUser, session: SessionDep) -> Response:
    signing_key = runtime_of(request).settings.signing_key
    try:
        await totp.start_setup(
            session, user=user, signing_key=signing_key, issuer=issuer_of(request)
        )
    except Conflict as exc:
        return await _security_page(request, session, user, 409, form_error=str(exc.detail))
    return redirect(request, SECURITY_PAGE)


async def _with_code(
    request: Request,
    session: AsyncSession,
    user: User,
    change: Callable[..., Awaitable[T]],
) -> T | Response:
    """`change` (totp.enable or totp.disable) with the code the form sent: what it returns,
    or the page again with its refusal beside the code field."""
    code = form_values(await request.form(), CODE_FIELD)["code"]
    signing_key = runtime_of(request).settings.signing_key
    try:
        async with counting_wrong_codes(request, user):
            return await change(session, user=user, code=code, signing_key=signing_key)
    except (Invalid, Conflict) as exc:
        errors = domain_errors(exc, CODE_FIELD, fallback="code")
        return await _security_page(request, session, user, exc.status_code, errors=errors)


@router.post(SECURITY_PAGE + "/2fa/enable", dependencies=[Csrf])
async def enable(request: Request, user: PageUser, session: SessionDep) -> Response:
    codes = await _with_code(request, session, user, totp.enable)
    if isinstance(codes, Response):
        return codes
    # Shown in this answer only (no-store), never put in a cookie or a redirect.
    return await _security_page(request, session, user, recovery_codes=codes)


@router.post(SECURITY_PAGE + "/2fa/disable", dependencies=[Csrf])
async def disable(request: Request, user: PageUser, session: SessionDep) -> Response:
    refused = await _with_code(request, session, user, totp.disable)
    if isinstance(refused, Response):
        return refused
    return redirect(request, SECURITY_PAGE, "Two-factor sign-in is off.", "info")


# ---- where the user is signed in -------------------------------------------------------------


@router.post(SECURITY_PAGE + "/sessions/{session_id}/end", dependencies=[Csrf])
async def end_session(
    request: Request, session_id: RowId, user: PageUser, session: SessionDep
) -> Response:
    """Sign out one other browser or token (this browser signs out with "Sign out")."""
    try:
        await sessions.end_session(session, user=user, session_id=session_id)
    except NotFound:
        return redirect(request, SECURITY_PAGE, "That session had ended already.", "info")
    return redirect(request, SECURITY_PAGE, "Signed out there.")


@router.post(SECURITY_PAGE + "/sessions/end-all", dependencies=[Csrf])
async def end_all_sessions(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Every browser and token of the user, this one too: back to the sign-in page."""
    await sessions.sign_out_everywhere(session, user=user)
    response = redirect(request, "/login", "Signed out everywhere.", "info")
    clear_cookie(response, runtime_of(request).settings, SESSION_COOKIE)
    return response
