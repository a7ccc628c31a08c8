"""Accounts: registration, sign-in, look-up. No FastAPI here; errors are domain errors."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.audit.service import record
from shortener.auth.passwords import hash_password, verify_password
from shortener.errors import Conflict, Forbidden
from shortener.models import User
from shortener.workspaces.service import create_personal


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession, *, email: str, password: str, is_admin: bool = False
) -> User:
    user = User(
        email=normalise_email(email),
        password_hash=await hash_password(password),
        is_admin=is_admin,
    )
    # A savepoint keeps the caller's transaction usable when the email is taken.
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise Conflict("an account with this email already exists") from None
    await create_personal(session, user=user)
    return user


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    if "\x00" in email:
        return None  # no account has one, and PostgreSQL would fail on it rather than miss
    result = await session.execute(select(User).where(col(User.email) == normalise_email(email)))
    return result.scalar_one_or_none()


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The user when email and password match an active account; the same None otherwise."""
    user = await get_by_email(session, email)
    ok = await verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        # Kept although the caller answers 401 (and its session would roll back): committed
        # here, where nothing else has been done yet. The target is the account's address
        # when one exists, never what was typed (it may be a password in the wrong field).
        await record(
            session,
            actor=None,
            action="auth.sign_in_failed",
            target=user.email if user is not None else None,
        )
        await session.commit()
        return None
    return user


async def change_password(
    session: AsyncSession, *, user: User, current_password: str, new_password: str
) -> None:
    """Set a new password and revoke every token issued before (the token version moves on)."""
    if not await verify_password(current_password, user.password_hash):
        raise Forbidden("the current password is not right")
    await set_password(session, user=user, password=new_password)
    await record(session, actor=user, action="auth.password_changed", target=user.email)


async def set_password(session: AsyncSession, *, user: User, password: str) -> None:
    """The new password; every token issued before stops working (the token version moves on;
    the caller also ends the user's sessions)."""
    user.password_hash = await hash_password(password)
    user.token_version += 1
    session.add(user)
    await session.flush()
