"""Single sign-on pages: GET /login/oidc sends the browser to the provider, and
GET /login/oidc/callback brings it back signed in (auth/oidc.py speaks the protocol,
auth/sso_accounts.py picks the account).

What the callback must check it came from is kept in the browser that started: `state`, `nonce`
and the PKCE verifier, with the page to go to afterwards, in a short-lived signed cookie
(HttpOnly, SameSite=Lax: sent on the provider's top-level redirect back, never to a script).
A callback whose `state` is not that cookie's is refused, so nobody can finish their own
sign-in in someone else's browser. One sign-in at a time per browser: starting another
replaces the cookie.

The end is the password sign-in's end: the same second step when the account has two-factor
sign-in on, the same session cookie otherwise.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from shortener.auth.limits import limit_sign_in_ip
from shortener.auth.oidc import Identity, SingleSignOn, Started
from shortener.auth.sso_accounts import account_for, refused
from shortener.auth.totp import two_factor_required
from shortener.db import SessionDep
from shortener.errors import DomainError, NotFound, SsoFailed
from shortener.runtime import runtime_of
from shortener.web.pages import redirect
from shortener.web.session import clear_cookie, safe_next, set_cookie, sign_in
from shortener.web.two_factor_pages import render_second_step

router = APIRouter(include_in_schema=False, dependencies=[Depends(limit_sign_in_ip)])
START = "/login/oidc"
CALLBACK = "/login/oidc/callback"
STATE_COOKIE = "sso_state"
# Time to sign in at the provider (a password manager, a second factor there).
STATE_SECONDS = 600
STATE_AUDIENCE = "shortener:sso-state"  # never mistaken for a session token, nor one for it
ALGORITHM = "HS256"
# The provider's `error` is shown only when it looks like an OAuth error code: its free text
# (error_description) is anyone's to write, and would read as ours on our page.
ERROR_CODE = re.compile(r"[a-z_]{1,64}")
NextParam = Annotated[str | None, Query(max_length=2000)]


def _sso(request: Request) -> SingleSignOn:
    sso = runtime_of(request).sso
    if sso is None:
        raise NotFound("single sign-on is not configured here")
    return sso


Sso = Annotated[SingleSignOn, Depends(_sso)]


def _callback_url(request: Request) -> str:
    # BASE_URL, as registered at the provider: never the Host header, which the client writes.
    return runtime_of(request).settings.base_url + CALLBACK


def _seal(key: str, started: Started, next_path: str) -> str:
    claims = {
        "aud": STATE_AUDIENCE,
        "exp": datetime.now(UTC) + timedelta(seconds=STATE_SECONDS),
        "state": started.state,
        "nonce": started.nonce,
        "verifier": started.code_verifier,
        "next": next_path,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def _unseal(key: str, value: str) -> tuple[Started, str] | None:
    """What the cookie holds, or None when it is missing, forged or expired."""
    try:
        claims = jwt.decode(value, key, algorithms=[ALGORITHM], audience=STATE_AUDIENCE)
        started = Started(
            state=str(claims["state"]),
            nonce=str(claims["nonce"]),
            code_verifier=str(claims["verifier"]),
        )
        return started, safe_next(str(claims["next"]))
    except (jwt.InvalidTokenError, KeyError):
        return None


@router.get(START)
async def start(request: Request, sso: Sso, next: NextParam = None) -> Response:
    settings = runtime_of(request).settings
    url, started = await sso.begin(_callback_url(request))
    response = RedirectResponse(url, status_code=303)
    sealed = _seal(settings.signing_key, started, safe_next(next))
    set_cookie(response, settings, STATE_COOKIE, sealed, STATE_SECONDS)
    return response


@router.get(CALLBACK)
async def callback(request: Request, sso: Sso, session: SessionDep) -> Response:
    settings = runtime_of(request).settings
    identity, next_path = await _identity(request, sso, session)
    user = await account_for(
        session, identity=identity, issuer=sso.issuer, signup=settings.oidc_signup
    )
    # The password sign-in's end: the second step when the account has one, else the session.
    if two_factor_required(user):
        response = render_second_step(request, user, next_path, remember=False)
    else:
        response = redirect(request, next_path)
        await sign_in(response, settings, session, user)
    clear_cookie(response, settings, STATE_COOKIE)  # used: a reload cannot replay it
    return response


async def _identity(
    request: Request, sso: SingleSignOn, session: AsyncSession
) -> tuple[Identity, str]:
    """Who the provider signed in, and where to go next; SsoFailed or ProviderUnavailable
    (each recorded as auth.sso_failed) when the sign-in cannot be believed or finished."""
    query = request.query_params
    kept = _unseal(runtime_of(request).settings.signing_key, request.cookies.get(STATE_COOKIE, ""))
    try:
        if error := query.get("error"):
            raise SsoFailed(_provider_said(error))
        if kept is None:
            raise SsoFailed(
                "This sign-in has expired, or was started in another browser. "
                "Start again from the sign-in page."
            )
        started, next_path = kept
        if not hmac.compare_digest(query.get("state", ""), started.state):
            raise SsoFailed(
                "This sign-in's state is not the one this browser started, so it was refused. "
                "Start again from the sign-in page."
            )
        code = query.get("code")
        if not code:
            raise SsoFailed("The provider sent no authorization code. Start again.")
        identity = await sso.finish(code=code, redirect_uri=_callback_url(request), started=started)
    except DomainError as exc:
        reason = "provider_unavailable" if exc.status_code >= 500 else "refused"
        await refused(session, email=None, reason=reason, detail={"why": str(exc.detail)[:200]})
        raise
    return identity, next_path


def _provider_said(error: str) -> str:
    if error == "access_denied":
        return "The sign-in was cancelled or refused at your single sign-on provider."
    code = error if ERROR_CODE.fullmatch(error) else "an error"
    return f"Your single sign-on provider answered with {code}. Try again from the sign-in page."
