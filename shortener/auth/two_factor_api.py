"""/api/auth/2fa/*: set up, turn on and turn off two-factor sign-in. Thin routes over auth.totp.

Bearer tokens only (CurrentUser): an API key is a credential made while signed in, not a way
to change how the account signs in. Wrong codes count against the same per-account limit as
the sign-in's second step, so a stolen token cannot guess its way to turning 2FA off.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response, status

from shortener.auth import totp
from shortener.auth.deps import CurrentUser
from shortener.auth.limits import second_factor_attempt, second_factor_failed
from shortener.auth.two_factor_schemas import RecoveryCodes, TwoFactorCode, TwoFactorSetup
from shortener.db import SessionDep
from shortener.errors import Invalid
from shortener.models import User
from shortener.openapi import errors
from shortener.runtime import runtime_of

router = APIRouter(prefix="/api/auth/2fa", tags=["auth"], responses=errors(401, 403, 429))
NO_CONTENT = status.HTTP_204_NO_CONTENT


def issuer_of(request: Request) -> str:
    """What authenticator apps show the account under: this service's host name."""
    return runtime_of(request).settings.base_host or "shortener"


@contextlib.asynccontextmanager
async def counting_wrong_codes(request: Request, user: User) -> AsyncIterator[None]:
    """Refused (429) past the account's limit of wrong codes; a wrong code (Invalid) counts."""
    await second_factor_attempt(request, user.email)
    try:
        yield
    except Invalid:
        await second_factor_failed(request, user.email)
        raise


@router.post("/setup", response_model=TwoFactorSetup, responses=errors(409))
async def setup(request: Request, user: CurrentUser, session: SessionDep) -> TwoFactorSetup:
    """A new secret to load into an authenticator app (scan `qr_svg` or open `otpauth_uri`).
    It stays pending, and sign-in unchanged, until POST /api/auth/2fa/enable confirms a code;
    calling this again replaces a pending secret."""
    made = await totp.start_setup(
        session,
        user=user,
        signing_key=runtime_of(request).settings.signing_key,
        issuer=issuer_of(request),
    )
    return TwoFactorSetup(secret=made.secret, otpauth_uri=made.otpauth_uri, qr_svg=made.qr_svg)


@router.post("/enable", response_model=RecoveryCodes, responses=errors(409, 422))
async def enable(
    request: Request, body: TwoFactorCode, user: CurrentUser, session: SessionDep
) -> RecoveryCodes:
    """Turn two-factor sign-in on with a code from the app; answers the recovery codes, shown
    only this once (each signs in once in place of a code)."""
    async with counting_wrong_codes(request, user):
        codes = await totp.enable(
            session,
            user=user,
            code=body.code,
            signing_key=runtime_of(request).settings.signing_key,
        )
    return RecoveryCodes(recovery_codes=codes)


@router.post("/disable", status_code=NO_CONTENT, responses=errors(422))
async def disable(
    request: Request, body: TwoFactorCode, user: CurrentUser, session: SessionDep
) -> Response:
    """Turn two-factor sign-in off with a current code or a recovery code."""
    async with counting_wrong_codes(request, user):
        await totp.disable(
            session,
            user=user,
            code=body.code,
            signing_key=runtime_of(request).settings.signing_key,
        )
    return Response(status_code=NO_CONTENT)
