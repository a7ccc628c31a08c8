"""JWT access tokens: HS256 only, the algorithm pinned on decode, `exp` required."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    token_version: int


def issue_token(
    *, user_id: int, token_version: int, key: str, lifetime: timedelta
) -> tuple[str, int]:
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "ver": token_version, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm=ALGORITHM), int(lifetime.total_seconds())


def read_token(token: str, *, key: str) -> TokenClaims | None:
    """The claims of a valid token, or None for anything else (bad signature, expired, ...)."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub"]}
        )
        return TokenClaims(user_id=int(claims["sub"]), token_version=int(claims.get("ver", 0)))
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
