"""Statistics from the rollups (never from raw clicks), behind the StatsCache."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.clicks.rows import DIMENSIONS
from shortener.domains.hostnames import short_url
from shortener.links.service import get_link
from shortener.models import (
    ClickDimension,
    ClickDimensionDaily,
    ClickRollup,
    Domain,
    Link,
)
from shortener.stats.cache import StatsCache
from shortener.stats.schemas import AccountStats, LinkStats, Point, Share, TopLink
from shortener.stats.window import Window
from shortener.workspaces.acting import Acting

BREAKDOWNS = {
    "referrer": "referrers",
    "country": "countries",
    "browser": "browsers",
    "os": "os",
    "device": "devices",
    "variant": "variants",
}


async def link_stats(
    session: AsyncSession,
    *,
    acting: Acting,
    key: str,
    window: Window,
    include_bots: bool,
    top: int,
    cache: StatsCache,
    domain_id: int | None = None,
) -> LinkStats:
    # The ownership query also reads the link's version (its counters, updated_at): see
    # StatsCache.
    link = await get_link(session, acting=acting, key=key, domain_id=domain_id)
    link_id = link.id or 0
    version = (link.clicks, link.bot_clicks, link.updated_at)
    cache_key: Hashable = ("link", link_id, link.key, window, include_bots, top, *version)

    async def compute() -> LinkStats:
        return await _link_stats(session, link, window, include_bots, top)

    return await cache.get(cache_key, compute)


def _totals(series: Any) -> tuple[dict[int, int], int]:
    """Clicks per bucket and the visitors summed, from (bucket, clicks, new visitors) rows."""
    clicks_by_bucket: dict[int, int] = {}
    visitors = 0
    for number, clicks, new_visitors in series:
        clicks_by_bucket[int(number)] = clicks_by_bucket.get(int(number), 0) + int(clicks)
        visitors += int(new_visitors)
    return clicks_by_bucket, visitors


async def _per_bucket(
    session: AsyncSession, query: Any, include_bots: bool
) -> tuple[dict[int, int], int, int]:
    """From (bucket, is_bot, clicks, visitors) rows: clicks per bucket and visitors (people's,
    bots' too with include_bots), and the bots' clicks, always counted apart."""
    rows = list(await session.execute(query))
    bot_clicks = sum(int(clicks) for _, bot, clicks, _ in rows if bot)
    chosen = [(n, clicks, seen) for n, bot, clicks, seen in rows if include_bots or not bot]
    clicks_by_bucket, visitors = _totals(chosen)
    return clicks_by_bucket, visitors, bot_clicks


def bucket_of(window: Window, hour: Any = None) -> Any:
    """The bucket number of an hour column (ClickRollup's unless told): hours, or days."""
    hour = col(ClickRollup.hour) if hour is None else hour
    return hour if window.interval == "hour" else hour // 24


def bots_filter(column: Any, include_bots: bool) -> ColumnElement[bool]:
    return true() if include_bots else column == false()


async def _link_stats(
    session: AsyncSession, link: Link, window: Window, include_bots: bool, top: int
) -> LinkStats:
    in_window = (
        col(ClickRollup.link_id) == link.id,
        col(ClickRollup.hour) >= window.start_hour,
        col(ClickRollup.hour) < window.end_hour,
    )
    bucket = bucket_of(window)
    is_bot = col(ClickRollup.is_bot)
    clicks_by_bucket, visitors, bot_clicks = await _per_bucket(
        session,
        select(bucket, is_bot, func.sum(ClickRollup.clicks), func.sum(ClickRollup.visitors))
        .where(*in_window)
        .group_by(bucket, is_bot),
        include_bots,
    )
    shares = await session.execute(_shares_query(link.id or 0, window, include_bots))
    total = sum(clicks_by_bucket.values())
    return LinkStats(
        key=link.key,
        from_=window.start_at,
        to=window.end_at,
        interval=window.interval,
        include_bots=include_bots,
        total_clicks=total,
        bot_clicks=bot_clicks,
        unique_visitors=visitors,
        timeseries=series(window, clicks_by_bucket),
        **breakdowns(with_unknown(shares, total), BREAKDOWNS, top),
    )


def _shares_query(link_id: int, window: Window, include_bots: bool) -> Any:
    """Clicks per dimension and value; day windows read the daily table, hour ones the hourly."""
    if window.interval == "day":
        daily = ClickDimensionDaily
        return (
            select(col(daily.dimension), col(daily.value), func.sum(daily.clicks))
            .where(
                col(daily.link_id) == link_id,
                col(daily.day) >= window.start // 86_400,
                col(daily.day) < window.end // 86_400,
                bots_filter(col(daily.is_bot), include_bots),
            )
            .group_by(col(daily.dimension), col(daily.value))
        )
    hourly = ClickDimension
    return (
        select(col(hourly.dimension), col(hourly.value), func.sum(hourly.clicks))
        .where(
            col(hourly.link_id) == link_id,
            col(hourly.hour) >= window.start_hour,
            col(hourly.hour) < window.end_hour,
            bots_filter(col(hourly.is_bot), include_bots),
        )
        .group_by(col(hourly.dimension), col(hourly.value))
    )


def with_unknown(rows: Iterable[Any], total: int) -> list[tuple[str, str, int]]:
    """The (dimension, value, clicks) rows of a window, each dimension's unknown value ("")
    added as what its known values leave of the window's `total` clicks: the click writer
    stores no row for an unknown value. Such rows stored before that are left out (their
    clicks are in the total already)."""
    known: dict[str, int] = defaultdict(int)
    found = []
    for dimension, value, clicks in rows:
        if dimension in DIMENSIONS:
            if not value:
                continue
            known[dimension] += int(clicks)
        found.append((dimension, value, int(clicks)))
    found.extend((d, "", total - known[d]) for d in DIMENSIONS if total > known[d])
    return found


def breakdowns(rows: Iterable[Any], fields: dict[str, str], top: int) -> dict[str, list[Share]]:
    """(dimension, value, count) rows as the answer's breakdowns: field -> its top shares."""
    values: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for dimension, value, clicks in rows:
        values[dimension].append((value, int(clicks)))
    return {field: ranked(values[dimension], top) for dimension, field in fields.items()}


def series(window: Window, clicks_by_bucket: dict[int, int]) -> list[Point]:
    """Every bucket of the window, the empty ones as zero, so charts need no gap logic."""
    return [
        Point(t=window.bucket_time(b), clicks=clicks_by_bucket.get(b, 0)) for b in window.buckets()
    ]


def ranked(values: list[tuple[str, int]], top: int) -> list[Share]:
    values.sort(key=lambda item: (-item[1], item[0]))
    return [Share(value=value or None, clicks=clicks) for value, clicks in values[:top]]


async def account_stats(
    session: AsyncSession,
    *,
    acting: Acting,
    window: Window,
    include_bots: bool,
    top: int,
    base_url: str,
    cache: StatsCache,
    domain_id: int | Literal["any"] | None = "any",
) -> AccountStats:
    """Totals over all of the workspace's links (an admin's too: the workspace's, not everyone's),
    or over those on one domain (`domain_id`; None: the default domain)."""
    mine = and_(col(Link.workspace_id) == acting.workspace_id, _on_domain(domain_id))
    # The account's version: any batch bumps a sum of clicks, any create/edit an updated_at,
    # any delete the count.
    version = (
        await session.execute(
            select(
                func.count(),
                func.sum(Link.clicks),
                func.sum(Link.bot_clicks),
                func.max(Link.updated_at),
                func.max(Link.id),
            ).where(mine)
        )
    ).one()
    cache_key: Hashable = (
        "account", acting.workspace_id, domain_id, window, include_bots, top, base_url, *version
    )  # fmt: skip

    async def compute() -> AccountStats:
        return await _account_stats(session, mine, window, include_bots, top, base_url)

    return await cache.get(cache_key, compute)


def _on_domain(domain_id: int | Literal["any"] | None) -> ColumnElement[bool]:
    if domain_id == "any":
        return true()
    return col(Link.domain_id).is_(None) if domain_id is None else col(Link.domain_id) == domain_id


async def _account_stats(
    session: AsyncSession,
    mine: ColumnElement[bool],
    window: Window,
    include_bots: bool,
    top: int,
    base_url: str,
) -> AccountStats:
    hours = (
        mine,
        col(ClickRollup.hour) >= window.start_hour,
        col(ClickRollup.hour) < window.end_hour,
    )
    in_window = (*hours, bots_filter(col(ClickRollup.is_bot), include_bots))
    joined = select().select_from(ClickRollup).join(Link, col(Link.id) == ClickRollup.link_id)
    bucket = bucket_of(window)
    is_bot = col(ClickRollup.is_bot)
    clicks_by_bucket, visitors, bot_clicks = await _per_bucket(
        session,
        joined.add_columns(
            bucket, is_bot, func.sum(ClickRollup.clicks), func.sum(ClickRollup.visitors)
        )
        .where(*hours)
        .group_by(bucket, is_bot),
        include_bots,
    )
    total = func.sum(ClickRollup.clicks)
    top_rows = await session.execute(
        joined.add_columns(
            col(Link.key), col(Link.url), col(Link.title), total, col(Domain.hostname)
        )
        .outerjoin(Domain, col(Domain.id) == col(Link.domain_id))
        .where(*in_window)
        .group_by(col(Link.id), col(Link.key), col(Link.url), col(Link.title), col(Domain.hostname))
        .order_by(total.desc(), col(Link.key))
        .limit(top)
    )
    links = await session.execute(select(func.count()).where(mine))
    return AccountStats(
        from_=window.start_at,
        to=window.end_at,
        interval=window.interval,
        include_bots=include_bots,
        total_clicks=sum(clicks_by_bucket.values()),
        bot_clicks=bot_clicks,
        unique_visitors=visitors,
        links=int(links.scalar_one()),
        timeseries=series(window, clicks_by_bucket),
        top_links=[
            TopLink(
                key=k, domain=h, short_url=short_url(base_url, h, k), url=u, title=t, clicks=int(n)
            )
            for k, u, t, n, h in top_rows
        ],
    )
