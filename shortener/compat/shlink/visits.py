"""Our clicks as Shlink's visits, paged as Shlink pages them.

A click keeps no raw IP, user agent or full referrer (SECURITY.md): a visit shows what is
kept. `userAgent` is a representative string rebuilt from the browser and OS we keep, so the
web client's browser and OS charts (which parse it) still count correctly; `referer` is the
referring host; the location has the country only (its code standing for its name too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from shortener.compat.shlink.service import atom, pagination
from shortener.models import Link
from shortener.stats.cache import StatsCache
from shortener.stats.visits import ClickFilter, ClickRow, count_clicks, page_of_clicks

COUNT_PERIOD = 600  # seconds a link's visit count may be reused (link_visit_count)
# The most a page may hold: what the web client asks for, and a bound on one answer's size.
MAX_PER_PAGE = 5_000

_OS = {
    "Windows": "Windows NT 10.0; Win64; x64",
    "Mac OS X": "Macintosh; Intel Mac OS X 10_15_7",
    "iOS": "iPhone; CPU iPhone OS 17_0 like Mac OS X",
    "Android": "Linux; Android 14",
    "Linux": "X11; Linux x86_64",
    "Ubuntu": "X11; Ubuntu; Linux x86_64",
    "Chrome OS": "X11; CrOS x86_64 15633.69.0",
}
_BROWSERS = {
    "Chrome": "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Chrome Mobile": "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    "Firefox": "Gecko/20100101 Firefox/120.0",
    "Firefox Mobile": "Gecko/20100101 Firefox/120.0",
    "Safari": "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
    "Mobile Safari": (
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    ),
    "Edge": "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Opera": "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/105.0.0.0",
}


def user_agent(browser: str | None, os: str | None) -> str:
    """A user agent that parses back to `browser` on `os` ("" when neither is known)."""
    if not browser and not os:
        return ""
    platform = _OS.get(os or "", os or "")
    engine = _BROWSERS.get(browser or "", browser or "")
    return f"Mozilla/5.0 ({platform}) {engine}".strip()


def visit(click: ClickRow, base_url: str) -> dict[str, Any]:
    """A Visit (schemas.Visit), as a plain dict: a page holds 5,000 and models cost there."""
    return visit_fields(
        moment=click.clicked_at,
        referrer_host=click.referrer_host,
        country=click.country,
        browser=click.browser,
        os=click.os,
        is_bot=click.is_bot,
        visited_url=f"{base_url}/{click.key}",
    )


def visit_fields(
    *,
    moment: datetime,
    referrer_host: str | None,
    country: str | None,
    browser: str | None,
    os: str | None,
    is_bot: bool,
    visited_url: str,
) -> dict[str, Any]:
    """What a Shlink visit shows of what we keep: a click's, or a visit to an unknown link's."""
    location = None
    if country:
        location = {
            "countryCode": country,
            "countryName": country,
            "regionName": None,
            "cityName": None,
            "latitude": None,
            "longitude": None,
            "timezone": None,
            "isEmpty": False,
        }
    return {
        "referer": f"https://{referrer_host}" if referrer_host else "",
        "date": atom(moment) or "",
        "userAgent": user_agent(browser, os),
        "visitLocation": location,
        "potentialBot": is_bot,
        "visitedUrl": visited_url,
        "redirectUrl": None,
    }


def page_size(items: int) -> int:
    """A visit list's `itemsPerPage`: below 1 (Shlink's "all", -1) and anything above
    MAX_PER_PAGE are pages of MAX_PER_PAGE, and `pagination` says so."""
    return MAX_PER_PAGE if items < 1 or items > MAX_PER_PAGE else items


async def link_visit_count(
    session: AsyncSession, link: Link, which: ClickFilter, cache: StatsCache
) -> int:
    """How many raw clicks of `link` match, counted once for a burst of page requests.

    The web client asks for every page of a link at once (200 for a million clicks), and
    counting a million index entries costs more than reading a page. The count is kept under
    the link's version (its click counter and updated_at, which new clicks and deleted visits
    change) and a ten-minute period (the retention cleanup prunes old clicks without either).
    """
    period = int(time.time()) // COUNT_PERIOD
    key = ("shlink-visit-count", link.id, link.clicks, link.updated_at, which.window(), period)
    return await cache.get(key, lambda: count_clicks(session, which))


@dataclass(frozen=True, slots=True)
class VisitQuery:
    """What every Shlink visit list takes: the dates, the page and its size, and the bots."""

    start: datetime | None
    end: datetime | None
    page: int
    per_page: int  # already page_size()'d
    include_bots: bool

    def of(self, links: ColumnElement[bool]) -> ClickFilter:
        """The clicks of `links` this query asks for."""
        return ClickFilter(links, self.start, self.end, include_bots=self.include_bots)


async def visit_page(
    session: AsyncSession,
    which: ClickFilter,
    query: VisitQuery,
    *,
    base_url: str,
    total: int | None = None,
) -> dict[str, Any]:
    """One page of visits, newest first, as VisitList's JSON.
    `total`: the count, when the caller has it already."""
    page, per_page = query.page, query.per_page
    if total is None:
        total = await count_clicks(session, which)
    offset = (page - 1) * per_page
    rows = (
        await page_of_clicks(session, which, offset=offset, limit=per_page)
        if offset < total
        else []
    )
    shown = pagination(page, per_page, len(rows), total)
    return {
        "visits": {"data": [visit(row, base_url) for row in rows], "pagination": shown.model_dump()}
    }
