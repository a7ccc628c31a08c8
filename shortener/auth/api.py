from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from shortener.auth import service
from shortener.auth.deps import CurrentUser
from shortener.auth.schemas import PasswordChange, Token, UserCreate, UserMe, UserPublic
from shortener.auth.tokens import issue_token
from shortener.db import SessionDep
from shortener.errors import Unauthorized
from shortener.openapi import errors
from shortener.ratelimit import limit_registration, login_attempt, login_succeeded

router = APIRouter(prefix="/api", tags=["auth"], responses=errors(401, 403, 409, 429))


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    dependencies=[Depends(limit_registration)],
)
async def register(body: UserCreate, session: SessionDep) -> UserPublic:
    user = await service.create_user(session, email=body.email, password=body.password)
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/auth/token", response_model=Token)
async def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
) -> Token:
    await login_attempt(request, form.username)
    user = await service.authenticate(session, email=form.username, password=form.password)
    if user is None:
        raise Unauthorized("incorrect email or password")
    await login_succeeded(request, form.username)
    settings = request.app.state.settings
    access, expires_in = issue_token(
        user_id=user.id or 0,
        token_version=user.token_version,
        key=settings.signing_key,
        lifetime=timedelta(minutes=settings.access_token_expire_minutes),
    )
    return Token(access_token=access, expires_in=expires_in)


@router.get("/users/me", response_model=UserMe)
async def me(user: CurrentUser) -> UserMe:
    return UserMe.model_validate(user, from_attributes=True)


@router.post("/users/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    request: Request, body: PasswordChange, user: CurrentUser, session: SessionDep
) -> Response:
    """Tokens issued before the change stop working; sign in again for a new one."""
    # A stolen token must not become a way to guess the password: same limits as sign-in.
    await login_attempt(request, user.email)
    await service.change_password(
        session, user=user, current_password=body.current_password, new_password=body.new_password
    )
    await login_succeeded(request, user.email)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
