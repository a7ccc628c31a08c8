"""Sign-in sessions: every bearer token and dashboard cookie stands for a row of auth_sessions.

`signed_in` is the one check of a token, used by the API (Authorization: Bearer) and the
dashboard (the session cookie) alike. A token passes only while its session row exists, its
user is active, and its token_version is the user's (a password change or a disabled account
still ends every token at once). Ending a session deletes its row, so a revoked token stays
dead although its signature and expiry are still good.

Tokens without a `sid` claim (issued before sessions existed) are refused: nothing could ever
revoke them, and signing in again costs their holders one form.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.audit.service import record
from shortener.auth.tokens import issue_token, read_token
from shortener.errors import NotFound
from shortener.models import AuthSession, User, utcnow

SessionKind = Literal["token", "dashboard"]
# last_used_at is written at most this often per session: a write per request would turn
# every authenticated read into a write (and on SQLite, a wait for the write lock).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    session: AuthSession
    # What a renewal grants (dashboard cookies only; API tokens do not slide).
    idle: timedelta | None = None


async def start_session(
    session: AsyncSession,
    *,
    user: User,
    kind: SessionKind,
    key: str,
    lifetime: timedelta,
    idle: timedelta | None = None,
) -> tuple[str, int]:
    """A new session for `user` and the token that carries it: (token, seconds it lasts).
    With `idle`, the session slides: see renew_session."""
    now = utcnow()
    # The user's sessions that ran out are of no use to anyone: keep the table small.
    await session.execute(
        delete(AuthSession).where(
            col(AuthSession.user_id) == user.id, col(AuthSession.expires_at) <= now
        )
    )
    row = AuthSession(
        sid=secrets.token_urlsafe(32),
        user_id=user.id or 0,
        kind=kind,
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    await session.flush()
    await record(session, actor=user, action="auth.sign_in", target=row.id, detail={"kind": kind})
    return issue_token(
        user_id=row.user_id,
        token_version=user.token_version,
        sid=row.sid,
        key=key,
        lifetime=lifetime,
        idle=idle,
    )


async def signed_in(session: AsyncSession, *, token: str, key: str) -> SignedIn | None:
    """Who `token` signs in, or None if it is invalid, expired, revoked or its user is not
    allowed in any more."""
    claims = read_token(token, key=key)
    if claims is None or claims.sid is None:
        return None
    row = (
        await session.execute(
            select(AuthSession, User)
            .join(User, col(User.id) == col(AuthSession.user_id))
            .where(col(AuthSession.sid) == claims.sid)
        )
    ).first()
    if row is None:
        return None
    auth_session, user = row
    now = utcnow()
    if (
        user.id != claims.user_id
        or not user.is_active
        or user.token_version != claims.token_version
        or auth_session.expires_at <= now
    ):
        return None
    if now - auth_session.last_used_at >= TOUCH_EVERY:
        touch = update(AuthSession).where(col(AuthSession.id) == auth_session.id)
        await session.execute(touch.values(last_used_at=now))
        auth_session.last_used_at = now
    idle = timedelta(seconds=claims.idle) if claims.idle else None
    return SignedIn(user, auth_session, idle)


async def renew_session(
    session: AsyncSession, current: SignedIn, *, key: str, cap: timedelta
) -> tuple[str, int] | None:
    """A sliding session's new token, (token, seconds it lasts), once less than half of its
    idle time is left; None before that (most requests: nothing is written), for a session
    that does not slide, and at the cap, `cap` after signing in, which no renewal passes."""
    row, idle = current.session, current.idle
    now = utcnow()
    if idle is None or row.expires_at - now > idle / 2:
        return None
    expires_at = min(now + idle, row.created_at + cap)
    if expires_at <= row.expires_at:
        return None
    renew = update(AuthSession).where(col(AuthSession.id) == row.id)
    await session.execute(renew.values(expires_at=expires_at))
    row.expires_at = expires_at
    return issue_token(
        user_id=row.user_id,
        token_version=current.user.token_version,
        sid=row.sid,
        key=key,
        lifetime=expires_at - now,
        idle=idle,
    )


async def session_alive(session: AsyncSession, *, session_id: int) -> bool:
    """Whether a session still stands and its user may still sign in (for long streams)."""
    row = await session.execute(
        select(col(AuthSession.id))
        .join(User, col(User.id) == col(AuthSession.user_id))
        .where(
            col(AuthSession.id) == session_id,
            col(AuthSession.expires_at) > utcnow(),
            col(User.is_active).is_(True),
        )
    )
    return row.first() is not None


async def list_sessions(session: AsyncSession, *, user: User) -> list[AuthSession]:
    """The user's sessions still in force, newest first."""
    rows = await session.execute(
        select(AuthSession)
        .where(col(AuthSession.user_id) == user.id, col(AuthSession.expires_at) > utcnow())
        .order_by(col(AuthSession.created_at).desc(), col(AuthSession.id).desc())
    )
    return list(rows.scalars())


async def end_session(session: AsyncSession, *, user: User, session_id: int) -> None:
    """End one of the user's sessions; NotFound for an unknown one or another user's."""
    result = await session.execute(
        delete(AuthSession).where(
            col(AuthSession.id) == session_id, col(AuthSession.user_id) == user.id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("no such session")
    await record(session, actor=user, action="session.revoked", target=session_id)


async def sign_out_everywhere(session: AsyncSession, *, user: User) -> None:
    """The user's own "sign out everywhere": every session ends, and the audit log says so."""
    await end_all_sessions(session, user_id=user.id or 0)
    await record(session, actor=user, action="session.revoked", target="all")


async def end_all_sessions(session: AsyncSession, *, user_id: int) -> None:
    """Sign the user out everywhere (every token and every dashboard cookie)."""
    await session.execute(delete(AuthSession).where(col(AuthSession.user_id) == user_id))
