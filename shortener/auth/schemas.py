from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from shortener.auth.account_tokens import MAX_TOKEN_LENGTH
from shortener.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
Email = Annotated[EmailStr, StringConstraints(max_length=320)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: Password


class TokenRequest(BaseModel):
    """A sign-in at POST /api/auth/token: the OAuth2 password form's fields, or the same as JSON,
    where `email` may stand for `username` (it is an email address either way)."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(min_length=1, max_length=320)] | None = None
    email: Annotated[str, Field(min_length=1, max_length=320)] | None = None
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    grant_type: Literal["password"] | None = None
    # The two-factor code (TOTP or recovery code) of an account that has it on.
    otp: Annotated[str, Field(max_length=64)] | None = None

    @model_validator(mode="after")
    def _one_login(self) -> Self:
        if (self.username is None) == (self.email is None):
            raise ValueError("send the email address as `username` or as `email` (one of them)")
        return self

    @property
    def login(self) -> str:
        return self.username or self.email or ""


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    new_password: Password


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]
    password: Password


class UserPublic(BaseModel):
    id: int
    email: str
    created_at: datetime


class UserMe(UserPublic):
    is_admin: bool
    # Not required to sign in: it says whether the owner proved the address (auth/reset.py).
    email_verified: bool


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class SessionPublic(BaseModel):
    id: int
    kind: str
    created_at: datetime
    last_used_at: datetime
    # True for the session of the token this list was asked with.
    current: bool
