"""The domains API, and the well-known path that proves a domain points at this service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import PlainTextResponse

from shortener.db import SessionDep
from shortener.domains import service
from shortener.domains.schemas import DomainCreate, DomainPublic, DomainUpdate
from shortener.errors import NotFound
from shortener.fields import MAX_ROW_ID
from shortener.links.deps import LinkContextDep
from shortener.openapi import errors
from shortener.runtime import runtime_of
from shortener.workspaces.deps import DomainsWriter, LinksReader

# The default domain (BASE_URL's, no row) answers to id 0.
DomainId = Annotated[int, Path(ge=service.DEFAULT_ID, le=MAX_ROW_ID)]

router = APIRouter(prefix="/api/domains", tags=["domains"], responses=errors(401, 403, 404, 409))
well_known = APIRouter(tags=["domains"], responses=errors(404))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DomainPublic)
async def create_domain(
    body: DomainCreate, acting: DomainsWriter, session: SessionDep, ctx: LinkContextDep
) -> DomainPublic:
    return service.public(await service.create_domain(session, acting=acting, data=body, ctx=ctx))


@router.get("", response_model=list[DomainPublic])
async def list_domains(
    acting: LinksReader, session: SessionDep, ctx: LinkContextDep
) -> list[DomainPublic]:
    domains = await service.list_domains(session, acting=acting)
    return [await service.default_domain(session, ctx), *map(service.public, domains)]


@router.patch("/{domain_id}", response_model=DomainPublic)
async def update_domain(
    domain_id: DomainId,
    body: DomainUpdate,
    acting: DomainsWriter,
    session: SessionDep,
    ctx: LinkContextDep,
) -> DomainPublic:
    if domain_id == service.DEFAULT_ID:  # BASE_URL's domain: no row, admins only
        return await service.update_default(session, acting=acting, data=body, ctx=ctx)
    domain = await service.update_domain(
        session, acting=acting, domain_id=domain_id, data=body, ctx=ctx
    )
    return service.public(domain)


@router.delete("/{domain_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_domain(
    domain_id: DomainId,
    acting: DomainsWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    force: Annotated[bool, Query(description="move its links to the default domain")] = False,
) -> Response:
    await service.delete_domain(session, acting=acting, domain_id=domain_id, force=force, ctx=ctx)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{domain_id}/verify", response_model=DomainPublic)
async def verify_domain(
    domain_id: DomainId,
    request: Request,
    acting: DomainsWriter,
    session: SessionDep,
    ctx: LinkContextDep,
) -> DomainPublic:
    runtime = runtime_of(request)
    domain = await service.verify_domain(
        session,
        acting=acting,
        domain_id=domain_id,
        proofs=runtime.domain_proofs,
        ctx=ctx,
        engine=runtime.engine,
    )
    return service.public(domain)


@well_known.get("/.well-known/shortener/{token}", response_class=PlainTextResponse)
async def proof(token: str, request: Request, session: SessionDep) -> PlainTextResponse:
    # The Host the request came to: only the domain being proven answers its own token.
    client = request.client
    host = runtime_of(request).hosts.host_of(request.scope["headers"], client and client.host)
    body = await service.proof_body(session, hostname=host, token=token)
    if body is None:
        raise NotFound("no such verification token on this host")
    return PlainTextResponse(body)
