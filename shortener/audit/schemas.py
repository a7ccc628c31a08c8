from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventPublic(BaseModel):
    at: datetime
    # The actor's e-mail address when they acted; null for a failed sign-in.
    actor: str | None
    action: str
    target: str | None
    # The slug of the workspace it happened in (null: an account's own action, such as a
    # sign-in, or a workspace deleted since).
    workspace: str | None = None
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEventPublic]
    total: int
