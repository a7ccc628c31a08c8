"""Shlink's REST API: thin routes over the adapters (service, visits, rules) and our services.

Served under /rest/v3 and /rest/v2 (the same answers: clients of either read them), with
/rest/health public. Errors are Shlink's problems (problems.py), CORS is Shlink's (cors.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from shortener.auth.deps import AnyPrincipal
from shortener.clicks.erase import erase_clicks
from shortener.compat.shlink import orphans, problems, redirects, rules, service
from shortener.compat.shlink.deps import (
    CreateBody,
    Domain,
    EndDate,
    ItemsPerPage,
    Page,
    QueryKeyWriter,
    StartDate,
    Visits,
)
from shortener.compat.shlink.schemas import (
    DeletedVisits,
    DomainList,
    DomainRedirects,
    DomainRedirectsIn,
    Health,
    Problem,
    RedirectRules,
    RedirectRulesIn,
    ShortUrl,
    ShortUrlCreate,
    ShortUrlEdit,
    ShortUrlList,
    ShortUrlPage,
    TagList,
    TagNames,
    TagRenaming,
    TagStats,
    TagStatsList,
    TagStatsPage,
    VisitList,
    VisitsOverview,
    VisitsOverviewBody,
    VisitsSummary,
)
from shortener.compat.shlink.visits import link_visit_count, visit_page
from shortener.db import ReadSessionDep, SessionDep
from shortener.errors import Conflict, NotFound
from shortener.fields import OneLine
from shortener.links import service as links
from shortener.links import tags as tag_service
from shortener.links.deps import LinkContextDep, quota_for
from shortener.links.schemas import LinkUpdate
from shortener.stats.api import StatsCacheDep
from shortener.stats.visits import of_link, of_links, totals_of
from shortener.workspaces.deps import DomainsWriter, LinksReader, LinksWriter, StatsReader

# The Shlink version clients see: 4.4 has every feature the SDK offers that this API serves
# (redirect rules, visitedUrl, hasRedirectRules); clients switch features on it.
SHLINK_VERSION = "4.4.0"
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {problems.MEDIA_TYPE: {}}, "description": what}
    for code, what in {
        400: "Shlink's invalid-data (or another problem)",
        401: "missing-authentication or invalid-api-key",
        403: "the API key lacks a scope",
        404: "short-url-not-found, tag-not-found, domain-not-found",
        409: "tag-conflict",
        429: "too many requests",
        501: "mercure-not-configured",
    }.items()
}

public = APIRouter(tags=["shlink"], responses=PROBLEMS)
router = APIRouter(tags=["shlink"], responses=PROBLEMS)


# ---- health ----------------------------------------------------------------------------------


@public.get("/rest/health", response_model=Health)
@public.get("/rest/v2/health", response_model=Health, include_in_schema=False)
@public.get("/rest/v3/health", response_model=Health, include_in_schema=False)
async def health() -> Health:
    return Health(
        status="pass",
        version=SHLINK_VERSION,
        links={"about": "https://shlink.io", "project": "https://github.com/shlinkio/shlink"},
    )


# ---- short URLs ----------------------------------------------------------------------------

# A tag to filter by: one line of text, as everywhere (a NUL failed on PostgreSQL).
TagText = Annotated[str, OneLine]


@router.get("/short-urls", response_model=ShortUrlList)
async def list_short_urls(
    acting: LinksReader,
    session: SessionDep,
    ctx: LinkContextDep,
    start: StartDate,
    end: EndDate,
    page: Page = 1,
    itemsPerPage: ItemsPerPage = 10,
    searchTerm: Annotated[str | None, Query(max_length=200), OneLine] = None,
    tags: Annotated[list[TagText], Query(alias="tags[]", max_length=50)] = [],  # noqa: B006
    tagsMode: Literal["any", "all"] | None = None,
    excludeTags: Annotated[list[TagText], Query(alias="excludeTags[]", max_length=50)] = [],  # noqa: B006
    excludeTagsMode: Literal["any", "all"] | None = None,
    orderBy: Annotated[str | None, Query(max_length=40)] = None,
    excludeMaxVisitsReached: bool = False,
    excludePastValidUntil: bool = False,
    domain: Domain = None,
) -> ShortUrlList:
    which = await service.domain_filter(session, acting=acting, domain=domain, ctx=ctx)
    conditions = service.list_conditions(
        acting,
        search=searchTerm,
        tags=tags,
        tags_mode=tagsMode,
        exclude_tags=excludeTags,
        exclude_tags_mode=excludeTagsMode,
        start=start,
        end=end,
        exclude_max_visits_reached=excludeMaxVisitsReached,
        exclude_past_valid_until=excludePastValidUntil,
        domain=which,
    )
    size = service.per_page(itemsPerPage)
    found, total = await service.list_links(
        session, conditions=conditions, order_by=orderBy, page=page, per_page=size
    )
    return ShortUrlList(
        shortUrls=ShortUrlPage(
            data=await service.short_urls(session, found, ctx),
            pagination=service.pagination(page, size, len(found), total),
        )
    )


@router.post(
    "/short-urls",
    response_model=ShortUrl,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ShortUrlCreate.model_json_schema()},
            },
        }
    },
)
async def create_short_url(
    request: Request,
    body: CreateBody,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
) -> ShortUrl:
    link = await service.create(
        session, acting=acting, body=body, ctx=ctx, quota=quota_for(request, acting.user)
    )
    return (await service.short_urls(session, [link], ctx))[0]


@router.get("/short-urls/shorten", response_model=ShortUrl)
async def shorten(
    request: Request,
    acting: QueryKeyWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    longUrl: Annotated[str, Query(min_length=1, max_length=4096)],
    format: Literal["json", "txt"] = "json",
) -> Response | ShortUrl:
    body = service.build(ShortUrlCreate, longUrl=longUrl)
    link = await service.create(
        session, acting=acting, body=body, ctx=ctx, quota=quota_for(request, acting.user)
    )
    shown = (await service.short_urls(session, [link], ctx))[0]
    if format == "txt":
        return PlainTextResponse(shown.shortUrl)
    return shown


@router.get("/short-urls/{shortCode}", response_model=ShortUrl)
async def get_short_url(
    shortCode: str,
    acting: LinksReader,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: Domain = None,
) -> ShortUrl:
    on = await service.domain_id(session, acting=acting, domain=domain, ctx=ctx)
    link = await links.get_link(session, acting=acting, key=shortCode, domain_id=on)
    return (await service.short_urls(session, [link], ctx))[0]


@router.patch("/short-urls/{shortCode}", response_model=ShortUrl)
async def edit_short_url(
    shortCode: str,
    body: ShortUrlEdit,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: Domain = None,
) -> ShortUrl:
    on = await service.domain_id(session, acting=acting, domain=domain, ctx=ctx)
    link = await service.edit(
        session, acting=acting, code=shortCode, body=body, ctx=ctx, domain_id=on
    )
    return (await service.short_urls(session, [link], ctx))[0]


@router.delete("/short-urls/{shortCode}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_short_url(
    shortCode: str,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: Domain = None,
) -> Response:
    on = await service.domain_id(session, acting=acting, domain=domain, ctx=ctx)
    await links.delete_link(session, acting=acting, key=shortCode, ctx=ctx, domain_id=on)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- redirect rules ---------------------------------------------------------------------


@router.get("/short-urls/{shortCode}/redirect-rules", response_model=RedirectRules)
async def get_redirect_rules(
    shortCode: str,
    acting: LinksReader,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: Domain = None,
) -> RedirectRules:
    on = await service.domain_id(session, acting=acting, domain=domain, ctx=ctx)
    return rules.to_shlink(
        await links.get_link(session, acting=acting, key=shortCode, domain_id=on)
    )


@router.post("/short-urls/{shortCode}/redirect-rules", response_model=RedirectRules)
async def set_redirect_rules(
    shortCode: str,
    body: RedirectRulesIn,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: Domain = None,
) -> RedirectRules:
    on = await service.domain_id(session, acting=acting, domain=domain, ctx=ctx)
    data = service.build(LinkUpdate, rules=rules.to_ours(body.redirectRules))
    link = await links.update_link(
        session, acting=acting, key=shortCode, data=data, ctx=ctx, domain_id=on
    )
    return rules.to_shlink(link)


# ---- visits ------------------------------------------------------------------------------


@router.get("/short-urls/{shortCode}/visits", response_model=VisitList)
async def short_url_visits(
    shortCode: str,
    acting: StatsReader,
    session: ReadSessionDep,
    ctx: LinkContextDep,
    cache: StatsCacheDep,
    query: Visits,
    domain: Domain = None,
) -> JSONResponse:
    on = await service.domain_id(session, acting=acting, domain=domain, ctx=ctx)
    link = await links.get_link(session, acting=acting, key=shortCode, domain_id=on)
    which = query.of(of_link(link.id or 0))
    total = await link_visit_count(session, link, which, cache)
    base_url = await service.base_url_of(session, on, ctx)
    return JSONResponse(await visit_page(session, which, query, base_url=base_url, total=total))


@router.delete("/short-urls/{shortCode}/visits", response_model=DeletedVisits)
async def delete_short_url_visits(
    shortCode: str,
    acting: LinksWriter,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: Domain = None,
) -> DeletedVisits:
    on = await service.domain_id(session, acting=acting, domain=domain, ctx=ctx)
    link = await links.get_link(session, acting=acting, key=shortCode, domain_id=on)
    return DeletedVisits(deletedVisits=await erase_clicks(session, link=link, ctx=ctx))


@router.get("/tags/{tag}/visits", response_model=VisitList)
async def tag_visits(
    tag: str,
    acting: StatsReader,
    session: ReadSessionDep,
    ctx: LinkContextDep,
    query: Visits,
    domain: Domain = None,
) -> JSONResponse:
    on = await service.domain_filter(session, acting=acting, domain=domain, ctx=ctx)
    if tag not in await tag_service.list_tags(session, acting=acting):
        raise problems.tag_not_found(tag)
    which = query.of(of_links(service.tagged_links(acting, tag, on)))
    return JSONResponse(await visit_page(session, which, query, base_url=ctx.base_url))


@router.get("/domains/{domain}/visits", response_model=VisitList)
async def domain_visits(
    domain: str,
    acting: StatsReader,
    session: ReadSessionDep,
    ctx: LinkContextDep,
    query: Visits,
) -> JSONResponse:
    on = await service.domain_filter(session, acting=acting, domain=domain, ctx=ctx)
    which = query.of(of_links(service.visible_links(acting, on)))
    base_url = await service.base_url_of(session, on, ctx)
    return JSONResponse(await visit_page(session, which, query, base_url=base_url))


@router.get("/visits/non-orphan", response_model=VisitList)
async def non_orphan_visits(
    acting: StatsReader,
    session: ReadSessionDep,
    ctx: LinkContextDep,
    query: Visits,
    domain: Domain = None,
) -> JSONResponse:
    on = await service.domain_filter(session, acting=acting, domain=domain, ctx=ctx)
    which = query.of(of_links(service.visible_links(acting, on)))
    return JSONResponse(await visit_page(session, which, query, base_url=ctx.base_url))


@router.get("/visits/orphan", response_model=VisitList)
async def orphan_visits(
    acting: StatsReader,
    session: ReadSessionDep,
    ctx: LinkContextDep,
    query: Visits,
    domain: Domain = None,
    type: orphans.OrphanType | None = None,
) -> JSONResponse:
    return JSONResponse(
        await orphans.orphan_page(session, query, acting=acting, ctx=ctx, domain=domain, kind=type)
    )


@router.delete("/visits/orphan", response_model=DeletedVisits)
async def delete_orphan_visits(
    acting: DomainsWriter, session: SessionDep, ctx: LinkContextDep
) -> DeletedVisits:
    return DeletedVisits(
        deletedVisits=await orphans.delete_orphans(session, acting=acting, ctx=ctx)
    )


@router.get("/visits", response_model=VisitsOverview)
async def visits_overview(
    acting: StatsReader, session: ReadSessionDep, ctx: LinkContextDep
) -> VisitsOverview:
    totals = await totals_of(session, service.visible_links(acting))
    orphaned = await orphans.orphan_totals(session, acting=acting, ctx=ctx)
    return VisitsOverview(
        visits=VisitsOverviewBody(
            nonOrphanVisits=service.summary(totals),
            orphanVisits=service.summary(orphaned),
            visitsCount=totals.clicks,
            orphanVisitsCount=orphaned.clicks,
        )
    )


# ---- tags ---------------------------------------------------------------------------------


@router.get("/tags", response_model=TagList)
async def list_tags(acting: LinksReader, session: SessionDep) -> TagList:
    return TagList(tags=TagNames(data=await tag_service.list_tags(session, acting=acting)))


@router.get("/tags/stats", response_model=TagStatsList)
async def tags_stats(acting: LinksReader, session: SessionDep) -> TagStatsList:
    counts = await tag_service.tag_counts(session, acting=acting)
    return TagStatsList(
        tags=TagStatsPage(
            data=[
                TagStats(
                    tag=c.tag,
                    shortUrlsCount=c.links,
                    visitsSummary=VisitsSummary(
                        total=c.clicks, nonBots=c.clicks - c.bot_clicks, bots=c.bot_clicks
                    ),
                )
                for c in counts
            ]
        )
    )


@router.put("/tags", status_code=status.HTTP_204_NO_CONTENT)
async def rename_tag(body: TagRenaming, acting: LinksWriter, session: SessionDep) -> Response:
    try:
        await tag_service.rename_tag(session, acting=acting, old=body.oldName, new=body.newName)
    except NotFound:
        raise problems.tag_not_found(body.oldName) from None
    except Conflict:
        raise problems.tag_conflict(body.oldName, body.newName) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/tags", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tags(
    acting: LinksWriter,
    session: SessionDep,
    tags: Annotated[list[str], Query(alias="tags[]", max_length=100)] = [],  # noqa: B006
) -> Response:
    await tag_service.delete_tags(session, acting=acting, tags=tags)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- domains, live updates ----------------------------------------------------------------


@router.get("/domains", response_model=DomainList)
async def list_domains(acting: LinksReader, session: SessionDep, ctx: LinkContextDep) -> DomainList:
    return await redirects.domain_list(session, acting=acting, ctx=ctx)


@router.patch("/domains/redirects", response_model=DomainRedirects)
async def edit_domain_redirects(
    body: DomainRedirectsIn, acting: DomainsWriter, session: SessionDep, ctx: LinkContextDep
) -> DomainRedirects:
    return await redirects.edit_redirects(session, acting=acting, body=body, ctx=ctx)


@router.get("/mercure-info")
async def mercure_info(principal: AnyPrincipal) -> None:
    raise problems.mercure_not_configured()


PREFIXES = ("/rest/v3", "/rest/v2")


def route_methods() -> list[tuple[re.Pattern[str], set[str]]]:
    """Each path this API serves (as a pattern) with its methods: what preflights answer."""
    found = [
        (compile_path(r.path)[0], set(r.methods or ()))
        for r in public.routes
        if isinstance(r, APIRoute)
    ]
    for prefix in PREFIXES:
        found += [
            (compile_path(prefix + r.path)[0], set(r.methods or ()))
            for r in router.routes
            if isinstance(r, APIRoute)
        ]
    return found


def include(app: FastAPI) -> None:
    """Mount the API where Shlink's clients look for it (v2 for older ones, out of the schema
    since it answers exactly as v3)."""
    app.include_router(public)
    app.include_router(router, prefix=PREFIXES[0])
    app.include_router(router, prefix=PREFIXES[1], include_in_schema=False)
