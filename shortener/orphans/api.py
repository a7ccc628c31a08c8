"""Visits to unknown links: thin routes over orphans.service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from shortener.db import ReadSessionDep, SessionDep
from shortener.openapi import errors
from shortener.orphans import service
from shortener.orphans.schemas import OrphanStats
from shortener.stats.api import From, To, Top
from shortener.stats.window import Interval, parse_moment, resolve_window
from shortener.workspaces.deps import DomainsManager, StatsReader

router = APIRouter(tags=["stats"], responses=errors(401, 403, 422))

Domain = Annotated[
    str | None,
    Query(max_length=300, description="a host name; default: every domain (admins only)"),
]


@router.get("/api/visits/orphan", response_model=OrphanStats)
async def orphan_stats(
    acting: StatsReader,
    session: ReadSessionDep,  # statistics: DATABASE_READ_URL's, as every stats route's
    domain: Domain = None,
    from_: From = None,
    to: To = None,
    interval: Interval = "day",
    include_bots: bool = False,
    top: Top = 100,
) -> OrphanStats:
    window = resolve_window(from_, to, interval, now=datetime.now(UTC))
    return await service.orphan_stats(
        session, acting=acting, domain=domain, window=window, include_bots=include_bots, top=top
    )


@router.delete("/api/visits/orphan", status_code=204)
async def purge_orphan_visits(
    acting: DomainsManager,
    session: SessionDep,
    before: Annotated[
        str, Query(max_length=64, description="ISO date or datetime: visits before it go")
    ],
    domain: Domain = None,
) -> Response:
    moment = parse_moment(before, param="before", end=False)
    await service.purge(session, acting=acting, domain=domain, before=moment)
    return Response(status_code=204)
