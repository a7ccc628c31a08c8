"""Kutt's API v2: /api/v2/links (create, list, edit, delete, stats), /api/v2/health and
/api/v2/users, authenticated by X-API-KEY (our API keys, with their scopes)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from shortener.auth.deps import AnyPrincipal
from shortener.compat.kutt import service
from shortener.compat.kutt.schemas import KuttCreate, KuttEdit, KuttLink, KuttPage
from shortener.db import ReadSessionDep, SessionDep
from shortener.errors import DomainError
from shortener.fields import Offset, OneLine
from shortener.links import service as links_service
from shortener.links.deps import LinkContextDep, LinkQuotaDep
from shortener.stats.api import StatsCacheDep
from shortener.transfer.service import describe
from shortener.workspaces.deps import LinksReader, LinksWriter, StatsReader


def kutt_error(status_code: int, detail: Any, headers: Mapping[str, str] | None = None) -> Response:
    # Kutt answers every failure as {"error": "..."}; its validation failures are 400s.
    status_code = 400 if status_code == 422 else status_code
    return JSONResponse({"error": describe(detail)}, status_code, headers=headers)


class KuttRoute(APIRoute):
    """Answers this router's failures, its dependencies' included, in Kutt's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def kutt_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return kutt_error(exc.status_code, exc.detail, exc.headers)
            except (RequestValidationError, ValidationError) as exc:
                return kutt_error(400, [_clean(err) for err in exc.errors()])
            except HTTPException as exc:
                return kutt_error(exc.status_code, exc.detail, exc.headers)

        return kutt_handler


def _clean(err: Any) -> dict[str, Any]:
    loc = [part for part in err.get("loc", ()) if part not in ("body", "query", "path")]
    return {"loc": loc, "msg": str(err.get("msg", "")).removeprefix("Value error, ")}


KUTT_ERROR = {"content": {"application/json": {"example": {"error": "Link was not found."}}}}
router = APIRouter(
    prefix="/api/v2",
    tags=["compatibility"],
    route_class=KuttRoute,
    responses={code: {"description": "Kutt's error shape"} | KUTT_ERROR
               for code in (400, 401, 403, 404, 409, 429)},
)  # fmt: skip


@router.get("/health", response_class=PlainTextResponse)
async def health() -> str:
    return "OK"


@router.get("/users")
async def user(principal: AnyPrincipal) -> dict[str, Any]:
    """Who the key belongs to (clients check a key with this); no custom domains yet."""
    return {"email": principal.user.email, "domains": []}


@router.post("/links", status_code=status.HTTP_201_CREATED, response_model=KuttLink)
async def create_link(
    body: KuttCreate,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    quota: LinkQuotaDep,
    response: Response,
) -> KuttLink:
    link, created = await service.create(session, acting=acting, body=body, ctx=ctx, quota=quota)
    if not created:
        response.status_code = status.HTTP_200_OK  # `reuse` found the link
    return (await service.to_kutt(session, [link], ctx.base_url))[0]


@router.get("/links", response_model=KuttPage)
async def list_links(
    acting: LinksReader,
    session: SessionDep,
    ctx: LinkContextDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10,
    skip: Offset = 0,
    all: bool = False,
    search: Annotated[str | None, Query(max_length=200), OneLine] = None,
) -> KuttPage:
    limit = min(limit, service.MAX_LIMIT)
    links, total = await links_service.list_links(
        session, acting=acting, limit=limit, offset=skip, q=search
    )
    data = await service.to_kutt(session, links, ctx.base_url)
    return KuttPage(limit=limit, skip=skip, total=total, data=data)


LinkId = Annotated[str, "a Kutt id (uuid) or the link's address"]


@router.patch("/links/{id}", response_model=KuttLink)
async def edit_link(
    id: LinkId,
    body: KuttEdit,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
) -> KuttLink:
    link = await service.edit(session, acting=acting, kutt=id, body=body, ctx=ctx)
    return (await service.to_kutt(session, [link], ctx.base_url))[0]


@router.delete("/links/{id}")
async def delete_link(
    id: LinkId,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
) -> dict[str, str]:
    link = await service.find(session, acting=acting, kutt=id)
    await links_service.delete_link(
        session, acting=acting, key=link.key, domain_id=link.domain_id, ctx=ctx
    )
    return {"message": "Link has been deleted successfully."}


@router.get("/links/{id}/stats")
async def link_stats(
    id: LinkId,
    acting: StatsReader,
    session: ReadSessionDep,
    ctx: LinkContextDep,
    cache: StatsCacheDep,
) -> dict[str, object]:
    """Kutt's stats: the link, and `lastDay` (24 hours), `lastWeek`, `lastMonth` (days) and
    `allTime` (months), each `{"stats": {browser, os, country, referrer}, "views"}`."""
    return await service.stats(session, acting=acting, kutt=id, base_url=ctx.base_url, cache=cache)
