"""The second step of signing in, shared by POST /api/auth/token and the dashboard's form.

Called once the password was found right. Its failures all read the same
("two-factor code required") whether the code was missing or wrong; only a wrong code counts
against the sign-in limits (auth/limits.py): a client that first tries without a code, as
scripts do, uses nothing up.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from shortener.audit.service import record
from shortener.auth import totp
from shortener.auth.limits import second_factor_attempt, second_factor_failed
from shortener.errors import Invalid, Unauthorized
from shortener.models import User
from shortener.runtime import runtime_of

TWO_FACTOR_REQUIRED = "two-factor code required"


def issuer_of(request: Request) -> str:
    """What authenticator apps show the account under: this service's host name."""
    return runtime_of(request).settings.base_host or "shortener"


async def check_second_factor(
    request: Request, session: AsyncSession, *, user: User, code: str | None
) -> None:
    """Return when `user` needs no second factor or `code` is right (and now used up);
    Unauthorized when it is missing or wrong, TooManyRequests past the limits."""
    if not totp.two_factor_required(user):
        return
    if not code or not code.strip():
        raise Unauthorized(TWO_FACTOR_REQUIRED)
    await second_factor_attempt(request, user.email)
    signing_key = runtime_of(request).settings.signing_key
    if not await totp.check_code(session, user=user, code=code, signing_key=signing_key):
        await second_factor_failed(request, user.email)
        # A right password with a wrong code is a failed sign-in too (someone may hold the
        # password), kept although the caller answers 401: committed here, as for a wrong
        # password. A missing code is not recorded: scripts first try without one.
        await record(
            session,
            actor=None,
            action="auth.sign_in_failed",
            target=user.email,
            detail={"step": "two-factor code"},
        )
        await session.commit()
        raise Unauthorized(TWO_FACTOR_REQUIRED)


@contextlib.asynccontextmanager
async def counting_wrong_codes(request: Request, user: User) -> AsyncIterator[None]:
    """For turning 2FA on and off: refused (429) past the account's limit of wrong codes, and
    a wrong code (the Invalid raised inside) counts, so a stolen session cannot guess either."""
    await second_factor_attempt(request, user.email)
    try:
        yield
    except Invalid:
        await second_factor_failed(request, user.email)
        raise
