"""JWT access tokens: HS256 only, the algorithm pinned on decode, `exp` required.

A token names its sign-in (`sid`, a row of auth_sessions): ending that row ends the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    token_version: int
    # None for tokens issued before sessions existed; those are refused (auth/sessions.py).
    sid: str | None
    # Dashboard cookies: the idle seconds each renewal grants (auth.sessions.renew_session);
    # None for API tokens, which never slide.
    idle: int | None = None


def issue_token(
    *,
    user_id: int,
    token_version: int,
    sid: str,
    key: str,
    lifetime: timedelta,
    idle: timedelta | None = None,
) -> tuple[str, int]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(user_id),
        "ver": token_version,
        "sid": sid,
        "iat": now,
        "exp": now + lifetime,
    }
    if idle is not None:
        claims["idle"] = int(idle.total_seconds())
    return jwt.encode(claims, key, algorithm=ALGORITHM), int(lifetime.total_seconds())


def read_token(token: str, *, key: str) -> TokenClaims | None:
    """The claims of a valid token, or None for anything else (bad signature, expired, ...)."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub"]}
        )
        sid = claims.get("sid")
        idle = claims.get("idle")
        return TokenClaims(
            user_id=int(claims["sub"]),
            token_version=int(claims.get("ver", 0)),
            sid=sid if isinstance(sid, str) else None,
            idle=idle if isinstance(idle, int) and idle > 0 else None,
        )
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
