"""/api/auth/2fa/*: set up, turn on and turn off two-factor sign-in. Thin routes over auth.totp.

Bearer tokens only (CurrentUser): an API key is a credential made while signed in, not a way
to change how the account signs in. Wrong codes count against the same per-account limit as
the sign-in's second step, so a stolen token cannot guess its way to turning 2FA off.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from shortener.auth import totp
from shortener.auth.deps import CurrentUser
from shortener.auth.second_factor import counting_wrong_codes, issuer_of
from shortener.auth.two_factor_schemas import RecoveryCodes, TwoFactorCode, TwoFactorSetup
from shortener.db import SessionDep
from shortener.openapi import errors
from shortener.runtime import runtime_of

router = APIRouter(prefix="/api/auth/2fa", tags=["auth"], responses=errors(401, 403, 429))
NO_CONTENT = status.HTTP_204_NO_CONTENT


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
