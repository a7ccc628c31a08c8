"""Request and response models of the workspaces API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shortener.auth.schemas import Email
from shortener.fields import OneLine
from shortener.workspaces.roles import Role
from shortener.workspaces.slugs import SLUG_RULE, is_slug


def _slug(value: str) -> str:
    if not is_slug(value):
        raise ValueError(SLUG_RULE)
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), OneLine]


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    slug: Annotated[str, Field(max_length=40), AfterValidator(_slug)]


class WorkspaceUpdate(BaseModel):
    """An extension of the contract: an owner renames the workspace or requires two-factor
    sign-in of its members."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    require_two_factor: bool | None = None


class WorkspacePublic(BaseModel):
    id: int
    name: str
    slug: str
    # The caller's role in it.
    role: Role
    personal: bool
    require_two_factor: bool
    created_at: datetime


class MemberPublic(BaseModel):
    user_id: int
    email: str
    role: Role
    joined_at: datetime


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    # Where SMTP_URL is set, the link is mailed here too.
    email: Email | None = None


class InvitationCreated(BaseModel):
    # Shown this once: only its hash is kept.
    token: str
    url: str
    role: Role
    expires_at: datetime


class InvitationPublic(BaseModel):
    """An invitation that still opens the workspace (its token was shown once, at creation)."""

    id: int
    role: Role
    email: str | None
    invited_by: str | None  # the maker's e-mail address; None once that account is gone
    created_at: datetime
    expires_at: datetime
