"""Password reset and e-mail verification: the links we mail, and what following them does.

No FastAPI here. Mails leave after the request's transaction commits (a link must work by the
time it arrives) and in the background (shortener/mail.py): asking for a reset answers the
same, in about the same time, whether or not the address has an account.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from shortener.audit.service import record
from shortener.auth import account_tokens
from shortener.auth.service import get_by_email, set_password
from shortener.auth.sessions import end_all_sessions
from shortener.config import Settings
from shortener.db import after_commit
from shortener.errors import Conflict
from shortener.mail import Mailer
from shortener.models import User

log = logging.getLogger(__name__)

RESET_MAIL = """\
Someone (we hope you) asked to reset the password of your account at {site}.

Choose a new password here (the link works once, for {minutes} minutes):

{link}

Setting it signs you out everywhere. If you did not ask for this, ignore this mail: your
password stays as it is.
"""
VERIFY_MAIL = """\
Please confirm that this is your e-mail address at {site} by opening this link
(it works once, for {hours} hours):

{link}

If you did not create an account, ignore this mail.
"""


def _site(settings: Settings) -> str:
    return urlsplit(settings.base_url).netloc


def send_after_commit(
    session: AsyncSession, mailer: Mailer, *, to: str, subject: str, body: str, about: str
) -> None:
    message = mailer.message(to=to, subject=subject, body=body)

    async def send() -> None:
        mailer.send_soon(message, about=about)

    after_commit(session, send)


async def reset_link(session: AsyncSession, *, user: User, settings: Settings) -> str:
    """A new password-reset link for `user` (also what `shortener reset-link` prints)."""
    token = await account_tokens.issue(
        session,
        user=user,
        purpose="reset",
        key=settings.signing_key,
        lifetime=timedelta(minutes=settings.password_reset_expire_minutes),
    )
    return f"{settings.base_url}/reset?token={token}"


async def request_reset(
    session: AsyncSession, *, email: str, settings: Settings, mailer: Mailer
) -> None:
    """Mail a reset link if `email` is an active account's; nothing tells the caller which."""
    user = await get_by_email(session, email)
    if user is None or not user.is_active:
        log.info("password reset asked for an address without an active account")
        return
    if not mailer.configured:
        log.warning(
            "password reset asked for user %s, but SMTP_URL is not set: no mail sent "
            "(an admin can run `shortener reset-link EMAIL` and hand the link over)",
            user.id,
        )
        return
    link = await reset_link(session, user=user, settings=settings)
    body = RESET_MAIL.format(
        site=_site(settings), minutes=settings.password_reset_expire_minutes, link=link
    )
    send_after_commit(
        session,
        mailer,
        to=user.email,
        subject="Reset your password",
        body=body,
        about=f"password reset for user {user.id}",
    )


async def confirm_reset(session: AsyncSession, *, token: str, password: str, key: str) -> User:
    """Set the password a reset link was mailed for; every session and token of the user ends.
    Gone when the link is used, expired or void."""
    user = await account_tokens.redeem(session, token=token, purpose="reset", key=key)
    await set_password(session, user=user, password=password)
    # The link arrived at the address: its owner reads it, which is all verifying proves.
    user.email_verified = True
    await end_all_sessions(session, user_id=user.id or 0)
    await record(session, actor=user, action="auth.password_reset", target=user.email)
    return user


async def send_verification(
    session: AsyncSession, *, user: User, settings: Settings, mailer: Mailer
) -> bool:
    """Mail `user` a verification link; False (nothing sent) without SMTP or once verified."""
    if not mailer.configured or user.email_verified:
        return False
    token = await account_tokens.issue(
        session,
        user=user,
        purpose="verify",
        key=settings.signing_key,
        lifetime=timedelta(hours=settings.email_verification_expire_hours),
    )
    body = VERIFY_MAIL.format(
        site=_site(settings),
        hours=settings.email_verification_expire_hours,
        link=f"{settings.base_url}/verify-email?token={token}",
    )
    send_after_commit(
        session,
        mailer,
        to=user.email,
        subject="Confirm your e-mail address",
        body=body,
        about=f"e-mail verification for user {user.id}",
    )
    return True


async def resend_verification(
    session: AsyncSession, *, user: User, settings: Settings, mailer: Mailer
) -> None:
    if user.email_verified:
        raise Conflict("your e-mail address is already verified")
    if not await send_verification(session, user=user, settings=settings, mailer=mailer):
        raise Conflict("this server sends no mail (SMTP_URL is not set); ask an administrator")


async def verify_email(session: AsyncSession, *, token: str, key: str) -> User:
    """Mark the address a verification link was mailed to as verified; Gone if it is used up."""
    user = await account_tokens.redeem(session, token=token, purpose="verify", key=key)
    user.email_verified = True
    session.add(user)
    await session.flush()
    return user
