"""Password reset and e-mail verification pages: thin routes over auth/reset.py.

/forgot-password asks for the address and says "check your mail" whatever it was; the mailed
link opens /reset?token=..., a form for the new password; /verify-email?token=... confirms an
address (the link in the verification mail).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from shortener.auth import reset
from shortener.auth.account_tokens import MAX_TOKEN_LENGTH
from shortener.auth.limits import limit_password_reset
from shortener.auth.schemas import PasswordResetConfirm, PasswordResetRequest
from shortener.db import SessionDep
from shortener.errors import Gone
from shortener.runtime import runtime_of
from shortener.web.csrf import check_csrf
from shortener.web.forms import form_values, validation_errors
from shortener.web.pages import redirect, render

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
# A longer token is no token of ours; it is told so by the form, as an expired one is.
TokenParam = Annotated[str, Query(max_length=MAX_TOKEN_LENGTH * 2)]
# The page's address holds the token: it must not leave in a Referer, not even to ourselves.
NO_REFERRER = {"referrer-policy": "no-referrer"}


def _forgot_context(request: Request, **extra: object) -> dict[str, object]:
    minutes = runtime_of(request).settings.password_reset_expire_minutes
    return {"show_auth_links": True, "minutes": minutes, **extra}


@router.get("/forgot-password")
async def forgot_password_page(request: Request) -> Response:
    return render(request, "forgot_password.html", _forgot_context(request))


@router.post("/forgot-password", dependencies=[Csrf])
async def forgot_password(request: Request, session: SessionDep) -> Response:
    values = form_values(await request.form(), ("email",))
    try:
        body = PasswordResetRequest(email=values["email"])
    except ValidationError as exc:
        errors = validation_errors(exc, ("email",))
        context = _forgot_context(request, values=values, errors=errors)
        return render(request, "forgot_password.html", context, status=422)
    # The same limits and the same service as POST /api/auth/password-reset.
    await limit_password_reset(request, body.email)
    runtime = runtime_of(request)
    await reset.request_reset(
        session, email=body.email, settings=runtime.settings, mailer=runtime.mailer
    )
    return redirect(request, "/forgot-password/sent")


@router.get("/forgot-password/sent")
async def forgot_password_sent(request: Request) -> Response:
    return render(request, "forgot_password.html", _forgot_context(request, sent=True))


@router.get("/reset")
async def reset_page(request: Request, token: TokenParam = "") -> Response:
    context = {"token": token, "show_auth_links": True}
    return render(request, "reset_password.html", context, headers=NO_REFERRER)


@router.post("/reset", dependencies=[Csrf])
async def reset_password(request: Request, session: SessionDep) -> Response:
    values = form_values(await request.form(), ("token", "password"))
    try:
        body = PasswordResetConfirm(token=values["token"], password=values["password"])
        key = runtime_of(request).settings.signing_key
        await reset.confirm_reset(session, token=body.token, password=body.password, key=key)
    except ValidationError as exc:
        errors = validation_errors(exc, ("password",))
        if "password" not in errors:  # only the token was refused: no token of ours
            return _link_gone(request, str(Gone.default_detail))
        context = {"token": values["token"], "errors": errors, "show_auth_links": True}
        return render(request, "reset_password.html", context, status=422)
    except Gone as exc:
        return _link_gone(request, str(exc.detail))
    return redirect(request, "/login", "Your password is changed. Sign in with it.")


def _link_gone(request: Request, detail: str) -> Response:
    context = {"form_error": detail, "show_auth_links": True}
    return render(request, "reset_password.html", context, status=410)


@router.get("/verify-email")
async def verify_email(request: Request, session: SessionDep, token: TokenParam = "") -> Response:
    key = runtime_of(request).settings.signing_key
    try:
        user = await reset.verify_email(session, token=token, key=key)
    except Gone as exc:
        context = {"verified": False, "error": exc.detail, "show_auth_links": True}
        return render(request, "email_verified.html", context, status=410, headers=NO_REFERRER)
    context = {"verified": True, "email": user.email, "show_auth_links": True}
    return render(request, "email_verified.html", context, headers=NO_REFERRER)
