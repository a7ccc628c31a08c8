"""GET /api/audit: the audit log. A workspace's owners and admins read its events (the
workspace of X-Workspace, as every workspace-scoped route); a site administrator without
X-Workspace reads every event."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from shortener.audit.schemas import AuditEventPublic, AuditPage
from shortener.audit.service import list_events, public_filter
from shortener.db import SessionDep
from shortener.fields import Offset, OneLine
from shortener.openapi import errors
from shortener.workspaces.acting import Acting
from shortener.workspaces.deps import WORKSPACE_HEADER, acts

# Reading a workspace's log is managing it: its owners and admins, with a bearer token.
AuditReader = Annotated[Acting, Depends(acts("members:write", bearer_only=True))]

router = APIRouter(prefix="/api", tags=["audit"], responses=errors(401, 403))


@router.get("/audit", response_model=AuditPage, responses=errors(422))
async def audit_log(
    reader: AuditReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Offset = 0,
    action: Annotated[
        str | None, Query(max_length=40, description="e.g. link.created"), OneLine
    ] = None,
    actor: Annotated[
        str | None, Query(max_length=320, description="the actor's email"), OneLine
    ] = None,
    since: Annotated[datetime | None, Query(alias="from", description="at or after")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="before")] = None,
    x_workspace: Annotated[str | None, Header(alias=WORKSPACE_HEADER, max_length=40)] = None,
) -> AuditPage:
    """Newest first. `from`/`to` without a zone are taken as UTC."""
    where = public_filter(
        reader,
        workspace_named=x_workspace is not None,
        action=action,
        actor=actor,
        since=since,
        until=until,
    )
    rows, total = await list_events(session, where=where, limit=limit, offset=offset)
    items = [
        AuditEventPublic(
            at=event.at,
            actor=event.actor,
            action=event.action,
            target=event.target,
            workspace=slug,
            detail=event.detail,
        )
        for event, slug in rows
    ]
    return AuditPage(items=items, total=total)
