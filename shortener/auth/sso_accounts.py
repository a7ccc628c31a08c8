"""Which account a single sign-on identity signs in as. No FastAPI here.

The one rule: the provider's e-mail address names the account, and only when the provider says
it verified that address. Otherwise anyone able to register an unverified address at the
provider (many let you) would sign in as the owner of that address here.

- verified, known, active: that account;
- verified, unknown: a new account when OIDC_SIGNUP=true (with a random password nobody
  knows), refused otherwise: an admin creates accounts;
- either way the account's e-mail is then marked verified: the provider proved it;
- unverified, or a disabled account: refused.

Every outcome is in the audit log: `auth.sso` (identity accepted; the session itself is the
usual `auth.sign_in`, after the second factor when the account has one) or `auth.sso_failed`.
A refusal commits its event before raising (the request's session rolls back on errors), as a
failed password sign-in does.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shortener.audit.service import record
from shortener.auth import service
from shortener.auth.oidc import Identity
from shortener.errors import Conflict, Forbidden
from shortener.models import User

UNVERIFIED = (
    "Your single sign-on provider has not verified the e-mail address {email}, so it cannot "
    "sign you in here. Verify the address with your provider, then try again."
)
NO_ACCOUNT = (
    "There is no account for {email} here, and accounts are not created by single sign-on. "
    "Ask an administrator to create your account, then sign in again."
)
DISABLED = "The account for {email} is disabled. Ask an administrator."


async def account_for(
    session: AsyncSession, *, identity: Identity, issuer: str, signup: bool
) -> User:
    """The account `identity` signs in as (created when allowed); Forbidden when refused."""
    email = service.normalise_email(identity.email)
    about: dict[str, Any] = {"issuer": issuer, "sub": identity.subject}
    if not identity.email_verified:
        await refused(session, email=email, reason="email_not_verified", detail=about)
        raise Forbidden(UNVERIFIED.format(email=email))
    user = await service.get_by_email(session, email)
    created = False
    if user is None:
        if not signup:
            await refused(session, email=email, reason="no_account", detail=about)
            raise Forbidden(NO_ACCOUNT.format(email=email))
        user = await _create(session, email=email)
        created = True
    if not user.is_active:
        await refused(session, email=email, reason="account_disabled", detail=about)
        raise Forbidden(DISABLED.format(email=email))
    if not user.email_verified:
        # The provider proved the address, as following our verification mail would.
        user.email_verified = True
        session.add(user)
    await record(
        session, actor=user, action="auth.sso", target=email, detail={**about, "created": created}
    )
    return user


async def _create(session: AsyncSession, *, email: str) -> User:
    # Nobody knows this password: the account signs in by single sign-on, or sets a password
    # through "Forgot password?" (which proves the address again).
    password = secrets.token_urlsafe(48)
    try:
        user = await service.create_user(session, email=email, password=password)
    except Conflict:
        # Two first sign-ins at once: the other one created it.
        found = await service.get_by_email(session, email)
        if found is None:
            raise
        return found
    return user


async def refused(
    session: AsyncSession, *, email: str | None, reason: str, detail: dict[str, Any] | None = None
) -> None:
    """Record a refused single sign-on and commit it (the caller raises next)."""
    await record(
        session,
        actor=None,
        action="auth.sso_failed",
        target=email,
        detail={"reason": reason, **(detail or {})},
    )
    await session.commit()
