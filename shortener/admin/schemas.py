from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AdminUserPublic(BaseModel):
    id: int
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    links: int


class AdminUserPage(BaseModel):
    items: list[AdminUserPublic]
    total: int
    limit: int
    offset: int


class AdminUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: bool
