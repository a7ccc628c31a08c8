from __future__ import annotations

from datetime import timedelta
from json import JSONDecodeError
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from shortener.auth import reset, service, sessions
from shortener.auth.deps import AnyPrincipal, CurrentSignIn, CurrentUser
from shortener.auth.limits import limit_registration, login_attempt, login_failed
from shortener.auth.schemas import (
    PasswordChange,
    SessionPublic,
    Token,
    TokenRequest,
    UserCreate,
    UserMe,
    UserPublic,
)
from shortener.auth.second_factor import check_second_factor
from shortener.db import SessionDep
from shortener.errors import Forbidden, Unauthorized
from shortener.fields import RowId
from shortener.openapi import errors
from shortener.runtime import runtime_of

router = APIRouter(prefix="/api", tags=["auth"], responses=errors(401, 403, 409, 429))
NO_CONTENT = status.HTTP_204_NO_CONTENT
# Within PostgreSQL's integer: a larger id is a 422, not a database error.


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    dependencies=[Depends(limit_registration)],
)
async def register(request: Request, body: UserCreate, session: SessionDep) -> UserPublic:
    user = await service.create_user(session, email=body.email, password=body.password)
    runtime = runtime_of(request)
    await reset.send_verification(
        session, user=user, settings=runtime.settings, mailer=runtime.mailer
    )
    return UserPublic.model_validate(user, from_attributes=True)


FORM_FIELDS = ("username", "password", "grant_type", "otp")
_TOKEN_SCHEMA = TokenRequest.model_json_schema()
TOKEN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": _TOKEN_SCHEMA},
            "application/json": {"schema": _TOKEN_SCHEMA},
        },
    }
}


async def sign_in_request(request: Request) -> TokenRequest:
    """The OAuth2 password form (what Swagger's Authorize and OAuth2 clients send), or JSON
    (what a script sends first): both read the same way, with the same 422s."""
    raw: Any
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        try:
            raw = await request.json()
        except (JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestValidationError(
                [{"loc": ["body"], "msg": "the body is not valid JSON", "type": "json_invalid"}]
            ) from exc
    else:
        form = await request.form()
        # OAuth2 clients also send scope, client_id...: the form takes what it reads, no more.
        raw = {k: v for k in FORM_FIELDS if isinstance(v := form.get(k), str)}
    try:
        return TokenRequest.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ["body", *err["loc"]]} for err in exc.errors(include_url=False)]
        ) from exc


@router.post("/auth/token", response_model=Token, openapi_extra=TOKEN_BODY, responses=errors(422))
async def token(
    request: Request,
    form: Annotated[TokenRequest, Depends(sign_in_request)],
    session: SessionDep,
) -> Token:
    """A bearer token for an email address and password, sent as the OAuth2 password form
    (`username`, `password`) or as JSON (`{"email" or "username", "password"}`). An account
    with two-factor sign-in on also sends `otp` (a TOTP or recovery code); without it, or with
    a wrong one, the answer is 401 `two-factor code required`."""
    await login_attempt(request, form.login)
    user = await service.authenticate(session, email=form.login, password=form.password)
    if user is None:
        await login_failed(request, form.login)
        raise Unauthorized("incorrect email or password")
    await check_second_factor(request, session, user=user, code=form.otp)
    settings = runtime_of(request).settings
    access, expires_in = await sessions.start_session(
        session,
        user=user,
        kind="token",
        key=settings.signing_key,
        lifetime=timedelta(minutes=settings.access_token_expire_minutes),
    )
    return Token(access_token=access, expires_in=expires_in)


@router.get("/auth/sessions", response_model=list[SessionPublic], responses=errors(404))
async def list_sessions(sign_in: CurrentSignIn, session: SessionDep) -> list[SessionPublic]:
    rows = await sessions.list_sessions(session, user=sign_in.user)
    return [
        SessionPublic(
            id=row.id or 0,
            kind=row.kind,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            current=row.id == sign_in.session.id,
        )
        for row in rows
    ]


@router.delete("/auth/sessions", status_code=NO_CONTENT)
async def end_all_sessions(user: CurrentUser, session: SessionDep) -> Response:
    """Sign out everywhere: every token and dashboard session of the user ends, this one too."""
    await sessions.sign_out_everywhere(session, user=user)
    return Response(status_code=NO_CONTENT)


@router.delete("/auth/sessions/{session_id}", status_code=NO_CONTENT, responses=errors(404))
async def end_session(session_id: RowId, user: CurrentUser, session: SessionDep) -> Response:
    await sessions.end_session(session, user=user, session_id=session_id)
    return Response(status_code=NO_CONTENT)


@router.post("/auth/logout", status_code=NO_CONTENT)
async def logout(sign_in: CurrentSignIn, session: SessionDep) -> Response:
    """End the session of the token this is called with (it answers 401 from now on)."""
    await sessions.end_session(session, user=sign_in.user, session_id=sign_in.session.id or 0)
    return Response(status_code=NO_CONTENT)


@router.get("/users/me", response_model=UserMe)
async def me(principal: AnyPrincipal) -> UserMe:
    """The caller: the bearer token's user, or the owner of the API key sent."""
    return UserMe.model_validate(principal.user, from_attributes=True)


@router.post("/users/me/password", status_code=NO_CONTENT)
async def change_password(
    request: Request, body: PasswordChange, user: CurrentUser, session: SessionDep
) -> Response:
    """Every session ends, this one too (tokens issued before stop working); sign in again."""
    # A stolen token must not become a way to guess the password: same limits as sign-in.
    await login_attempt(request, user.email)
    try:
        await service.change_password(
            session,
            user=user,
            current_password=body.current_password,
            new_password=body.new_password,
        )
    except Forbidden:
        await login_failed(request, user.email)
        raise
    await sessions.end_all_sessions(session, user_id=user.id or 0)
    return Response(status_code=NO_CONTENT)
