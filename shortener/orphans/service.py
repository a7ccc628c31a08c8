"""Visits to unknown links: who may see which domain's, their statistics, and the purge.

Statistics read the rollups the click writer keeps (clicks/orphans.py), never raw rows, with
the link statistics' window, buckets, bot filter and ranking (stats/service.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.errors import Forbidden, Invalid
from shortener.models import (
    Domain,
    OrphanDimension,
    OrphanDrop,
    OrphanRollup,
    OrphanVisit,
)
from shortener.orphans.schemas import OrphanStats
from shortener.stats.service import BREAKDOWNS, bots_filter, breakdowns, bucket_of, series
from shortener.stats.window import Window
from shortener.urls import request_host
from shortener.workspaces.acting import Acting

# The path asked for, then the breakdowns link statistics have (A/B variants excepted).
FIELDS = {"path": "paths", **{d: f for d, f in BREAKDOWNS.items() if d != "variant"}}


async def visible_orphan_domains(session: AsyncSession, acting: Acting) -> frozenset[str] | None:
    """The domains whose visits to unknown links `acting` may see and purge; None: every one.

    Admins see every domain (the default one and shared ones are the operator's). Others see
    the verified domains of the workspace: a host that points at us before its proof is not
    theirs."""
    if acting.user.is_admin:
        return None
    owned = await session.execute(
        select(col(Domain.hostname)).where(
            col(Domain.workspace_id) == acting.workspace_id, col(Domain.verified).is_(True)
        )
    )
    return frozenset(owned.scalars())


async def checked_domain(session: AsyncSession, acting: Acting, domain: str | None) -> str | None:
    """The domain filter, normalised as the redirect records it, if the user may use it."""
    if domain is not None:
        name = request_host(domain)
        if name is None:
            raise Invalid(
                [{"loc": ["query", "domain"], "msg": "not a host name", "type": "value_error"}]
            )
        domain = name
    visible = await visible_orphan_domains(session, acting)
    if visible is None:
        return domain
    if domain is None:
        raise Forbidden("visits to unknown links of every domain are for administrators")
    if domain not in visible:
        raise Forbidden(f"{domain} is not a domain of yours")
    return domain


async def orphan_stats(
    session: AsyncSession,
    *,
    acting: Acting,
    domain: str | None,
    window: Window,
    include_bots: bool,
    top: int,
) -> OrphanStats:
    domain = await checked_domain(session, acting, domain)
    hours = (col(OrphanRollup.hour) >= window.start_hour, col(OrphanRollup.hour) < window.end_hour)
    where: list[Any] = [*hours, bots_filter(col(OrphanRollup.is_bot), include_bots)]
    if domain is not None:
        where.append(col(OrphanRollup.domain) == domain)
    per_bucket = bucket_of(window, col(OrphanRollup.hour))
    rows = await session.execute(
        select(per_bucket, func.sum(OrphanRollup.visits)).where(*where).group_by(per_bucket)
    )
    visits = {int(b): int(n) for b, n in rows}
    shares: list[tuple[str, str, int]] = []
    for dimension in FIELDS:
        shares += await _top(session, dimension, domain, window, include_bots, top)
    drops = [col(OrphanDrop.hour) >= window.start_hour, col(OrphanDrop.hour) < window.end_hour]
    if domain is not None:
        drops.append(col(OrphanDrop.domain) == domain)
    dropped = await session.execute(
        select(func.coalesce(func.sum(OrphanDrop.visits), 0)).where(*drops)
    )
    return OrphanStats(
        domain=domain,
        from_=window.start_at,
        to=window.end_at,
        interval=window.interval,
        include_bots=include_bots,
        total_visits=sum(visits.values()),
        dropped=int(dropped.scalar_one()),
        timeseries=series(window, visits),
        **breakdowns(shares, FIELDS, top),
    )


async def _top(
    session: AsyncSession,
    dimension: str,
    domain: str | None,
    window: Window,
    include_bots: bool,
    top: int,
) -> list[tuple[str, str, int]]:
    """The dimension's `top` values: ranked in the database, as a scanner's paths are many."""
    table = OrphanDimension
    total = func.sum(table.visits)
    query = (
        select(col(table.value), total)
        .where(
            col(table.dimension) == dimension,
            col(table.hour) >= window.start_hour,
            col(table.hour) < window.end_hour,
            bots_filter(col(table.is_bot), include_bots),
        )
        .group_by(col(table.value))
        .order_by(total.desc(), col(table.value))
        .limit(top)
    )
    if domain is not None:
        query = query.where(col(table.domain) == domain)
    return [(dimension, value, int(n)) for value, n in await session.execute(query)]


async def purge(
    session: AsyncSession, *, acting: Acting, domain: str | None, before: datetime
) -> None:
    """Forget the visits before `before`: raw rows, and the rollups of the whole hours before
    it (the hour `before` falls in keeps its counts: they cannot be split)."""
    domain = await checked_domain(session, acting, domain)
    hour = int(before.timestamp()) // 3600
    raw = delete(OrphanVisit).where(col(OrphanVisit.visited_at) < before)
    if domain is not None:
        raw = raw.where(col(OrphanVisit.domain) == domain)
    await session.execute(raw)
    for table in (OrphanRollup, OrphanDimension, OrphanDrop):
        statement = delete(table).where(col(table.hour) < hour)
        if domain is not None:
            statement = statement.where(col(table.domain) == domain)
        await session.execute(statement)
