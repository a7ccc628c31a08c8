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
    # The workspace it happened in: always null until workspaces exist (issue 16).
    workspace: str | None = None
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEventPublic]
    total: int
