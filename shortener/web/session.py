"""Cookie sign-in for the pages: the API's JWT in an HttpOnly cookie, and signed flash messages.

The session cookie holds the same token `/api/auth/token` issues (same users, same expiry, same
token_version check), so disabling an account or changing its password signs it out here too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.responses import Response

from shortener.auth.tokens import issue_token, read_token
from shortener.config import Settings
from shortener.db import SessionDep
from shortener.models import User

SESSION_COOKIE = "session"
FLASH_COOKIE = "flash"
DEFAULT_NEXT = "/dashboard"


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


def sign_in(response: Response, settings: Settings, user: User) -> None:
    token, lifetime = issue_token(
        user_id=user.id or 0,
        token_version=user.token_version,
        key=settings.signing_key,
        lifetime=timedelta(minutes=settings.access_token_expire_minutes),
    )
    set_cookie(response, settings, SESSION_COOKIE, token, lifetime)


def sign_out(response: Response, settings: Settings) -> None:
    clear_cookie(response, settings, SESSION_COOKIE)


async def optional_user(request: Request, session: SessionDep) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    claims = read_token(token, key=request.app.state.settings.signing_key)
    if claims is None:
        return None
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.token_version:
        return None
    return user


async def page_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else DEFAULT_NEXT)
    return user


MaybeUser = Annotated[User | None, Depends(optional_user)]
PageUser = Annotated[User, Depends(page_user)]


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


# ---- flash messages: one message carried across a redirect in a signed cookie ------------

FlashKind = Literal["success", "error", "info"]


@dataclass(frozen=True, slots=True)
class Flash:
    message: str
    kind: FlashKind = "success"


def _mac(key: str, payload: bytes) -> str:
    digest = hmac.new(key.encode(), b"flash|" + payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def set_flash(
    response: Response, settings: Settings, message: str, kind: FlashKind = "success"
) -> None:
    # No '=' padding: cookie values with '=' get quoted, and quoting is not worth the doubt.
    payload = base64.urlsafe_b64encode(json.dumps({"m": message, "k": kind}).encode()).rstrip(b"=")
    value = f"{payload.decode()}.{_mac(settings.signing_key, payload)}"
    set_cookie(response, settings, FLASH_COOKIE, value, 60)


def read_flash(request: Request) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return None
    payload, mac = raw.rsplit(".", 1)
    expected = _mac(request.app.state.settings.signing_key, payload.encode())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        kind = data.get("k")
        return Flash(str(data["m"]), kind if kind in ("success", "error", "info") else "info")
    except (ValueError, KeyError, TypeError):
        return None
