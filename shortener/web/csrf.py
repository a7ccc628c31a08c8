"""CSRF protection for every state-changing form: a signed double-submit token.

A random `csrf` cookie (HttpOnly, SameSite=Lax) seeds the token; the token written into each
form is an HMAC, under the app's signing key, of that seed and the current session cookie.
Another site can neither read the cookie nor compute the HMAC, and a token taken from one
session does not verify in another (so a planted seed cookie is worthless after sign-in).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from shortener.errors import Forbidden
from shortener.runtime import runtime_of
from shortener.web.session import SESSION_COOKIE, session_cookie, set_cookie

CSRF_COOKIE = "csrf"
CSRF_FIELD = "csrf_token"
_SEED_LIFETIME = 60 * 60 * 24 * 30


def _token(key: str, seed: str, session: str) -> str:
    message = f"csrf|{seed}|{session}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token for forms on this page; makes a seed (set by `apply_csrf_cookie`) if needed."""
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_seed", None)
    if not seed:
        seed = secrets.token_urlsafe(32)
        request.state.new_csrf_seed = seed
    # The cookie the browser holds once this page arrives: a page whose request renewed the
    # session carries the new cookie, and its forms are posted with it. Bound to the cookie
    # sent, they were refused (403) whenever the renewed token differed from the old one.
    return _token(runtime_of(request).settings.signing_key, seed, session_cookie(request))


def apply_csrf_cookie(request: Request, response: Response) -> None:
    seed = getattr(request.state, "new_csrf_seed", None)
    if seed:
        set_cookie(response, runtime_of(request).settings, CSRF_COOKIE, seed, _SEED_LIFETIME)


async def check_csrf(request: Request) -> None:
    """Refuse (403) a form post whose token is missing or does not match this browser's."""
    seed = request.cookies.get(CSRF_COOKIE)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not seed or not isinstance(sent, str) or not sent:
        raise Forbidden("the form is missing its security token; reload the page and try again")
    expected = _token(
        runtime_of(request).settings.signing_key, seed, request.cookies.get(SESSION_COOKIE, "")
    )
    if not hmac.compare_digest(sent, expected):
        raise Forbidden("the form's security token is invalid; reload the page and try again")
