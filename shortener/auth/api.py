from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from shortener.auth import service
from shortener.auth.deps import CurrentUser
from shortener.auth.schemas import Token, UserCreate, UserMe, UserPublic
from shortener.auth.tokens import issue_token
from shortener.db import SessionDep
from shortener.errors import Unauthorized

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
async def register(body: UserCreate, session: SessionDep) -> UserPublic:
    user = await service.create_user(session, email=body.email, password=body.password)
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/auth/token", response_model=Token)
async def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
) -> Token:
    user = await service.authenticate(session, email=form.username, password=form.password)
    if user is None:
        raise Unauthorized("incorrect email or password")
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
