"""Request and response models of the blocklist API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class BlockedDomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str = Field(min_length=1, max_length=253)
    reason: str | None = Field(default=None, max_length=300)


class BlockedDomainPublic(BaseModel):
    domain: str
    source: str = Field(description="settings (BLOCKED_DOMAINS) or admin")
    reason: str | None
    created_at: datetime | None


class BlockList(BaseModel):
    items: list[BlockedDomainPublic]
