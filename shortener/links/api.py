"""The links API: thin routes over links.service."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from shortener.db import SessionDep
from shortener.domains import service as domains
from shortener.fields import Offset, OneLine
from shortener.links import service
from shortener.links.deps import LinkContextDep, LinkQuotaDep
from shortener.links.keypath import KEY
from shortener.links.schemas import LinkCreate, LinkPage, LinkPublic, LinkUpdate
from shortener.openapi import errors
from shortener.urls import complete_url
from shortener.workspaces.deps import LinksReader, LinksWriter

# Every route naming a link by key: which domain the key is on (default: the default domain).
DomainQuery = Annotated[
    str | None, Query(max_length=300, description="the link's domain (hostname)")
]

router = APIRouter(prefix="/api/links", tags=["links"], responses=errors(401, 404, 409, 429))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=LinkPublic,
    responses={200: {"description": "md5 strategy: this user's existing link for the URL"}},
)
async def create_link(
    body: LinkCreate,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    quota: LinkQuotaDep,
    response: Response,
) -> LinkPublic:
    link, created = await service.create_link(
        session, acting=acting, data=body, ctx=ctx, quota=quota
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    public = (await service.to_public(session, [link], ctx.base_url))[0]
    return public.model_copy(update={"notes": complete_url(body.url)[1]})


@router.get("", response_model=LinkPage)
async def list_links(
    acting: LinksReader,
    session: SessionDep,
    ctx: LinkContextDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=200), OneLine] = None,
    tag: Annotated[
        str | None,
        Query(max_length=64, description="links with this tag, in any case (tags ignore case)"),
        OneLine,
    ] = None,
    domain: DomainQuery = None,
) -> LinkPage:
    domain_id: int | Literal["any"] | None = "any"
    if domain is not None:
        domain_id = await domains.domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    links, total = await service.list_links(
        session, acting=acting, limit=limit, offset=offset, q=q, tag=tag, domain_id=domain_id
    )
    items = await service.to_public(session, links, ctx.base_url)
    return LinkPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/" + KEY, response_model=LinkPublic)
async def get_link(
    key: str,
    acting: LinksReader,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: DomainQuery = None,
) -> LinkPublic:
    domain_id = await domains.domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    link = await service.get_link(session, acting=acting, key=ctx.key(key), domain_id=domain_id)
    return (await service.to_public(session, [link], ctx.base_url))[0]


@router.patch("/" + KEY, response_model=LinkPublic)
async def update_link(
    key: str,
    body: LinkUpdate,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: DomainQuery = None,
) -> LinkPublic:
    domain_id = await domains.domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    link = await service.update_link(
        session, acting=acting, key=ctx.key(key), data=body, ctx=ctx, domain_id=domain_id
    )
    public = (await service.to_public(session, [link], ctx.base_url))[0]
    notes = complete_url(body.url)[1] if body.url is not None else []
    return public.model_copy(update={"notes": notes})


@router.delete("/" + KEY, status_code=status.HTTP_204_NO_CONTENT)
async def delete_link(
    key: str,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: DomainQuery = None,
) -> Response:
    domain_id = await domains.domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    await service.delete_link(
        session, acting=acting, key=ctx.key(key), ctx=ctx, domain_id=domain_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
