"""Password reset and e-mail verification over the API: thin routes over auth/reset.py.

The page that a verification link opens (GET /verify-email) and the reset pages are in
shortener/web/reset_pages.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from shortener.auth import reset
from shortener.auth.deps import CurrentUser
from shortener.auth.limits import limit_password_reset, limit_verification_mail
from shortener.auth.schemas import PasswordResetConfirm, PasswordResetRequest
from shortener.db import SessionDep
from shortener.openapi import errors
from shortener.runtime import runtime_of

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,  # an empty answer, documented as one
    responses=errors(422, 429),
)
async def request_password_reset(
    request: Request, body: PasswordResetRequest, session: SessionDep
) -> Response:
    """Mail a reset link to the address if it has an account. The answer is 202 either way
    (whether an address has an account is nobody's business), and a mail that cannot be sent
    is logged, not answered."""
    await limit_password_reset(request, body.email)
    runtime = runtime_of(request)
    await reset.request_reset(
        session, email=body.email, settings=runtime.settings, mailer=runtime.mailer
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(410, 422),
)
async def confirm_password_reset(
    request: Request, body: PasswordResetConfirm, session: SessionDep
) -> Response:
    """Set a new password with the token of a reset link (once). Every session and token of
    the user ends; 410 when the link was used already or has expired."""
    key = runtime_of(request).settings.signing_key
    await reset.confirm_reset(session, token=body.token, password=body.password, key=key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses=errors(401, 409, 429),
)
async def resend_verification(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Mail the caller a new verification link; 409 when already verified or when this server
    sends no mail."""
    await limit_verification_mail(request, user.id or 0)
    runtime = runtime_of(request)
    await reset.resend_verification(
        session, user=user, settings=runtime.settings, mailer=runtime.mailer
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)
