"""GET /api/audit: the audit log, for administrators (the owners and admins of workspaces once
they exist)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from shortener.audit.schemas import AuditEventPublic, AuditPage
from shortener.audit.service import AuditFilter, list_events, public_filter
from shortener.auth.deps import BearerAdmin
from shortener.db import SessionDep
from shortener.fields import OneLine
from shortener.openapi import errors

router = APIRouter(prefix="/api", tags=["audit"], responses=errors(401, 403))


@router.get("/audit", response_model=AuditPage, responses=errors(422))
async def audit_log(
    admin: BearerAdmin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    action: Annotated[
        str | None, Query(max_length=40, description="e.g. link.created"), OneLine
    ] = None,
    actor: Annotated[
        str | None, Query(max_length=320, description="the actor's email"), OneLine
    ] = None,
    since: Annotated[datetime | None, Query(alias="from", description="at or after")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="before")] = None,
) -> AuditPage:
    """Newest first. `from`/`to` without a zone are taken as UTC."""
    where: AuditFilter = public_filter(action=action, actor=actor, since=since, until=until)
    rows, total = await list_events(session, where=where, limit=limit, offset=offset)
    items = [AuditEventPublic.model_validate(row, from_attributes=True) for row in rows]
    return AuditPage(items=items, total=total)
