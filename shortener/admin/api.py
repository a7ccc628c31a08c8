"""Administration. Every route needs an administrator's bearer token (no API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from shortener.admin import service
from shortener.admin.schemas import AdminUserPage, AdminUserPublic, AdminUserUpdate
from shortener.auth.deps import BearerAdmin
from shortener.db import SessionDep
from shortener.fields import Offset, OneLine, RowId
from shortener.links.deps import LinkContextDep
from shortener.models import User
from shortener.openapi import errors

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=errors(401, 403, 404, 409))


def _public(user: User, links: int) -> AdminUserPublic:
    return AdminUserPublic(
        id=user.id or 0,
        email=user.email,
        is_admin=user.is_admin,
        is_active=user.is_active,
        created_at=user.created_at,
        links=links,
    )


@router.get("/users", response_model=AdminUserPage)
async def list_users(
    admin: BearerAdmin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
    q: Annotated[
        str | None, Query(max_length=320, description="part of the email"), OneLine
    ] = None,
) -> AdminUserPage:
    rows, total = await service.list_users(session, limit=limit, offset=offset, q=q)
    items = [_public(user, links) for user, links in rows]
    return AdminUserPage(items=items, total=total, limit=limit, offset=offset)


@router.patch("/users/{user_id}", response_model=AdminUserPublic)
async def update_user(
    user_id: RowId,
    body: AdminUserUpdate,
    admin: BearerAdmin,
    session: SessionDep,
    ctx: LinkContextDep,
) -> AdminUserPublic:
    user = await service.set_active(
        session, admin=admin, user_id=user_id, is_active=body.is_active, cache=ctx.cache
    )
    return _public(user, await service.count_links(session, user_id))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(
    user_id: RowId, admin: BearerAdmin, session: SessionDep, ctx: LinkContextDep
) -> Response:
    await service.delete_user(session, admin=admin, user_id=user_id, cache=ctx.cache)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
