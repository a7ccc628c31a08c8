"""Admin routes for the blocklist of target domains."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from shortener.auth.deps import AdminUser
from shortener.blocklist import service
from shortener.blocklist.schemas import BlockedDomainCreate, BlockedDomainPublic, BlockList
from shortener.db import SessionDep
from shortener.links.deps import LinkContextDep
from shortener.openapi import errors

router = APIRouter(
    prefix="/api/admin/blocklist", tags=["admin"], responses=errors(401, 403, 404, 409)
)

Domain = Annotated[str, Path(min_length=1, max_length=253)]


def _public(entry: service.Entry) -> BlockedDomainPublic:
    return BlockedDomainPublic(
        domain=entry.domain, source=entry.source, reason=entry.reason, created_at=entry.created_at
    )


@router.get("", response_model=BlockList)
async def list_blocked(_admin: AdminUser, session: SessionDep, ctx: LinkContextDep) -> BlockList:
    entries = await service.list_entries(session, ctx.blocked_domains)
    return BlockList(items=[_public(e) for e in entries])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BlockedDomainPublic)
async def block_domain(
    body: BlockedDomainCreate, _admin: AdminUser, session: SessionDep, ctx: LinkContextDep
) -> BlockedDomainPublic:
    entry = await service.add_entry(
        session, ctx.blocked_domains, domain=body.domain, reason=body.reason
    )
    return _public(entry)


@router.delete("/{domain}", status_code=status.HTTP_204_NO_CONTENT)
async def unblock_domain(
    domain: Domain, _admin: AdminUser, session: SessionDep, ctx: LinkContextDep
) -> Response:
    await service.remove_entry(session, ctx.blocked_domains, domain=domain)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
