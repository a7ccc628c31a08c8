"""Request and response models of the domains API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shortener.urls import MAX_URL_LENGTH

DomainUrl = Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]


class DomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hostname: str = Field(min_length=1, max_length=300, examples=["go.example.com"])
    # Admins only: every user may put links on a shared domain.
    shared: bool = False
    # Admins only: the operator controls the host, no proof needed.
    verified: bool = False


class DomainUpdate(BaseModel):
    """Only the fields sent are changed; `null` clears one."""

    model_config = ConfigDict(extra="forbid")

    root_url: DomainUrl | None = None
    not_found_url: DomainUrl | None = None
    expired_url: DomainUrl | None = None


class Verification(BaseModel):
    """Either proof will do: the TXT record, or the body served at the path on the host."""

    dns_name: str
    dns_value: str
    http_path: str
    http_body: str


class DomainPublic(BaseModel):
    id: int
    hostname: str
    is_default: bool
    shared: bool
    verified: bool
    verification: Verification | None
    root_url: str | None
    not_found_url: str | None
    expired_url: str | None
    created_at: datetime | None
