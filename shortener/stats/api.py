"""The statistics API: thin routes over stats.service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from shortener.db import ReadSessionDep
from shortener.domains.service import domain_id_of
from shortener.links.api import DomainQuery
from shortener.links.keypath import KEY
from shortener.openapi import errors
from shortener.runtime import runtime_of
from shortener.stats import service
from shortener.stats.cache import StatsCache
from shortener.stats.schemas import AccountStats, LinkStats
from shortener.stats.window import Interval, resolve_window
from shortener.workspaces.deps import StatsReader

router = APIRouter(tags=["stats"], responses=errors(401, 403, 404))


def stats_cache(request: Request) -> StatsCache:
    return runtime_of(request).stats_cache  # type: ignore[no-any-return]


StatsCacheDep = Annotated[StatsCache, Depends(stats_cache)]
From = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=64,
        description="ISO date or datetime (UTC when no offset); default: `to` minus 30 days",
    ),
]
To = Annotated[
    str | None,
    Query(max_length=64, description="ISO date (the whole day) or datetime; default: now"),
]
Top = Annotated[int, Query(ge=1, le=1000, description="entries per breakdown / top links")]


@router.get(f"/api/links/{KEY}/stats", response_model=LinkStats)
async def link_stats(
    key: str,
    request: Request,
    acting: StatsReader,
    session: ReadSessionDep,
    cache: StatsCacheDep,
    from_: From = None,
    to: To = None,
    interval: Interval = "day",
    include_bots: bool = False,
    top: Top = 100,
    domain: DomainQuery = None,
) -> LinkStats:
    window = resolve_window(from_, to, interval, now=datetime.now(UTC))
    ctx = runtime_of(request).link_context
    domain_id = await domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    return await service.link_stats(
        session,
        acting=acting,
        key=ctx.key(key),
        domain_id=domain_id,
        window=window,
        include_bots=include_bots,
        top=top,
        cache=cache,
    )


@router.get("/api/stats", response_model=AccountStats)
async def account_stats(
    request: Request,
    acting: StatsReader,
    session: ReadSessionDep,
    cache: StatsCacheDep,
    from_: From = None,
    to: To = None,
    interval: Interval = "day",
    include_bots: bool = False,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
    domain: DomainQuery = None,
) -> AccountStats:
    window = resolve_window(from_, to, interval, now=datetime.now(UTC))
    ctx = runtime_of(request).link_context
    domain_id: int | Literal["any"] | None = "any"
    if domain is not None:
        domain_id = await domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    return await service.account_stats(
        session,
        acting=acting,
        window=window,
        include_bots=include_bots,
        top=top,
        base_url=runtime_of(request).settings.base_url,
        cache=cache,
        domain_id=domain_id,
    )
