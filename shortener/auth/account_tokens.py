"""Tokens of the links we mail (password reset, e-mail verification): single-use, expiring.

A token is 32 random bytes (URL-safe). The database keeps only HMAC-SHA256(SECRET_KEY,
purpose | token): whoever reads a copy of the table can neither use a row nor check a guess
without the key, and a token made for one purpose hashes differently under another.
Redeeming marks the row used in the same UPDATE that finds it, so of two requests racing
with one token exactly one wins.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.errors import Gone
from shortener.models import AccountToken, User, utcnow

Purpose = Literal["reset", "verify"]
# secrets.token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 128


def _digest(key: str, purpose: Purpose, token: str) -> str:
    return hmac.new(key.encode(), f"{purpose}|{token}".encode(), hashlib.sha256).hexdigest()


async def issue(
    session: AsyncSession, *, user: User, purpose: Purpose, key: str, lifetime: timedelta
) -> str:
    """A new token for `user`; returns the token itself (the only time it exists in clear)."""
    now = utcnow()
    # Rows of no further use (used or run out) only make the table grow.
    await session.execute(
        delete(AccountToken).where(
            col(AccountToken.user_id) == user.id,
            or_(col(AccountToken.used_at).is_not(None), col(AccountToken.expires_at) <= now),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            token_hash=_digest(key, purpose, token),
            user_id=user.id or 0,
            purpose=purpose,
            token_version=user.token_version,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    await session.flush()
    return token


async def redeem(session: AsyncSession, *, token: str, purpose: Purpose, key: str) -> User:
    """Use up `token` and return its user; Gone if it is unknown, used, expired, or void
    (its user was disabled, or, for a reset link, the password changed since)."""
    gone = Gone()
    if len(token) > MAX_TOKEN_LENGTH or "\x00" in token:
        raise gone
    now = utcnow()
    used = await session.execute(
        update(AccountToken)
        .where(
            col(AccountToken.token_hash) == _digest(key, purpose, token),
            col(AccountToken.purpose) == purpose,
            col(AccountToken.used_at).is_(None),
            col(AccountToken.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(AccountToken.user_id), col(AccountToken.token_version))
    )
    row = used.first()
    if row is None:
        raise gone
    user_id, token_version = row
    user = (await session.execute(select(User).where(col(User.id) == user_id))).scalar_one()
    # A reset link is for the password it was sent against: once the password changed (by
    # another reset, the user, or an admin disabling the account), older reset links are void.
    password_moved_on = purpose == "reset" and user.token_version != token_version
    if not user.is_active or password_moved_on:
        raise gone
    return user
