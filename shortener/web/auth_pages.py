"""Sign-in pages: /register, /login, /logout. Thin routes over auth.service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from shortener.auth import reset, service
from shortener.auth.limits import limit_registration, login_attempt, login_failed
from shortener.auth.schemas import UserCreate
from shortener.auth.totp import two_factor_required
from shortener.db import SessionDep
from shortener.errors import Conflict
from shortener.runtime import runtime_of
from shortener.web.csrf import check_csrf
from shortener.web.forms import form_values, validation_errors
from shortener.web.pages import redirect, render
from shortener.web.session import MaybeSignIn, MaybeUser, PageUser, safe_next, sign_in, sign_out
from shortener.web.two_factor_pages import render_second_step

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)
NextParam = Annotated[str | None, Query(max_length=2000)]
AUTH_FIELDS = ("email", "password")


@router.get("/")
async def home(request: Request, user: MaybeUser) -> Response:
    return redirect(request, "/dashboard" if user else "/login")


@router.get("/login")
async def login_page(request: Request, user: MaybeUser, next: NextParam = None) -> Response:
    if user is not None:
        return redirect(request, safe_next(next))
    return render(request, "login.html", _login_context(request, safe_next(next)))


@router.post("/login", dependencies=[Csrf])
async def login(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    values = form_values(form, (*AUTH_FIELDS, "next", "remember"))
    next_path = safe_next(values["next"])
    # The same brute-force limits as POST /api/auth/token (429 with Retry-After).
    await login_attempt(request, values["email"])
    user = await service.authenticate(session, email=values["email"], password=values["password"])
    if user is None:
        await login_failed(request, values["email"])
        context = _login_context(request, next_path)
        context.update(values=values, form_error="Incorrect email or password.")
        return render(request, "login.html", context, status=400)
    remember = bool(values["remember"])  # the checkbox sends "on", or nothing
    if two_factor_required(user):
        return render_second_step(request, user, next_path, remember=remember)
    response = redirect(request, next_path)
    await sign_in(response, runtime_of(request).settings, session, user, remember=remember)
    return response


def _login_context(request: Request, next_path: str) -> dict[str, object]:
    settings = runtime_of(request).settings
    return {
        "next": next_path,
        "show_auth_links": True,
        "remember_days": settings.session_remember_days,
        "sso": settings.sso_enabled,  # the "Sign in with single sign-on" button
    }


@router.get("/register")
async def register_page(request: Request, user: MaybeUser, next: NextParam = None) -> Response:
    if user is not None:
        return redirect(request, safe_next(next))
    return render(request, "register.html", {"next": safe_next(next), "show_auth_links": True})


@router.post("/register", dependencies=[Csrf, Depends(limit_registration)])
async def register(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    values = form_values(form, (*AUTH_FIELDS, "next"))
    next_path = safe_next(values["next"])
    context = {"next": next_path, "values": values, "show_auth_links": True}
    try:
        body = UserCreate(email=values["email"], password=values["password"])
        user = await service.create_user(session, email=body.email, password=body.password)
        await session.flush()
        runtime = runtime_of(request)
        await reset.send_verification(
            session, user=user, settings=runtime.settings, mailer=runtime.mailer
        )
    except ValidationError as exc:
        errors = validation_errors(exc, AUTH_FIELDS)
        return render(request, "register.html", {**context, "errors": errors}, status=422)
    except Conflict as exc:
        return render(
            request, "register.html", {**context, "errors": {"email": str(exc.detail)}}, status=409
        )
    response = redirect(request, next_path, "Welcome! Your account is ready.")
    await sign_in(response, runtime_of(request).settings, session, user)
    return response


@router.get("/logout")
async def logout_page(request: Request, user: PageUser) -> Response:
    # Signing out changes state, so it is a POST with a CSRF token; GET only asks.
    return render(request, "logout.html", user=user)


@router.post("/logout", dependencies=[Csrf])
async def logout(request: Request, session: SessionDep, current: MaybeSignIn) -> Response:
    response = redirect(request, "/login", "You are signed out.", "info")
    await sign_out(response, runtime_of(request).settings, session, current)
    return response
