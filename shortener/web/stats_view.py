"""Statistics for the pages: the API's stats service (and its lru_cache), drawn as charts.

No queries of their own: the pages ask shortener.stats.service exactly as the API does and
turn its answers, in the API's shape, into SVG.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import Request
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from shortener.countries import country_name
from shortener.runtime import runtime_of
from shortener.stats import service
from shortener.web.breakdowns import breakdown_chart, breakdown_table, world_map
from shortener.web.charts import sparkline, timeseries_chart
from shortener.web.windows import StatsWindow
from shortener.workspaces.acting import Acting

# field of the answer: (what the chart is called, what a null value means)
BREAKDOWNS = {
    "referrers": ("Referrers", "Direct or unknown"),
    "countries": ("Countries", "Unknown"),
    "browsers": ("Browsers", "Unknown"),
    "os": ("Operating systems", "Unknown"),
    "devices": ("Devices", "Unknown"),
}
BARS = 8  # per breakdown chart; the rest of the service's answer is summed as 'Other'
TOP = 100
TOP_LINKS = 5
# A time chart is drawn twice, and CSS shows the one that fits (app.css, "charts"): scaled
# into a phone's 300 px, the 720-wide one had its 12-unit text at 5 px.


def time_charts(
    points: list[dict[str, Any]], window: StatsWindow, width: int = 720, height: int = 240
) -> Markup:
    """The window's clicks over time, drawn for a wide column and for a phone's (320 wide)."""
    span = partial(
        timeseries_chart, points, interval=window.interval, start=window.start, end=window.end
    )
    wide = span(width=width, height=height, css="chart-wide")
    narrow = span(width=320, height=220, max_ticks=3, css="chart-narrow")
    return wide + narrow


def names_for(breakdown: str) -> Callable[[str], str] | None:
    """How a breakdown's values are shown: countries by name, the others as they are."""
    return country_name if breakdown == "countries" else None


async def load_link_stats(
    request: Request,
    session: AsyncSession,
    acting: Acting,
    key: str,
    window: StatsWindow,
    domain_id: int | None = None,
) -> dict[str, Any]:
    """The link's statistics over the window, as numbers and charts (`domain_id`: the
    link's domain, None for the default one)."""
    answer = await service.link_stats(
        session,
        acting=acting,
        key=key,
        domain_id=domain_id,
        window=window.window,
        include_bots=False,
        top=TOP,
        cache=runtime_of(request).stats_cache,
    )
    data = answer.model_dump()
    total = data["total_clicks"]
    return {
        "total_clicks": total,
        "bot_clicks": data["bot_clicks"],
        "unique_visitors": data["unique_visitors"],
        "chart": time_charts(data["timeseries"], window),
        "map": world_map(data["countries"], names=country_name, total=total),
        "breakdowns": {
            name: breakdown_chart(
                data[name],
                title=title,
                unknown=unknown,
                limit=BARS,
                total=total,
                names=names_for(name),
            )
            + breakdown_table(
                data[name], title=title, unknown=unknown, total=total, names=names_for(name)
            )
            for name, (title, unknown) in BREAKDOWNS.items()
        },
    }


async def load_overview(
    request: Request, session: AsyncSession, acting: Acting, window: StatsWindow
) -> dict[str, Any]:
    """The account's totals over the window: numbers, a chart, a sparkline, the top links."""
    answer = await service.account_stats(
        session,
        acting=acting,
        window=window.window,
        include_bots=False,
        top=TOP_LINKS,
        base_url=runtime_of(request).settings.base_url,
        cache=runtime_of(request).stats_cache,
    )
    data = answer.model_dump()
    points = data["timeseries"]
    return {
        "total_clicks": data["total_clicks"],
        "bot_clicks": data["bot_clicks"],
        "unique_visitors": data["unique_visitors"],
        "links": data["links"],
        "chart": time_charts(points, window, width=480, height=200),
        "sparkline": sparkline(
            points, interval=window.interval, start=window.start, end=window.end
        ),
        "top_links": data["top_links"],
    }
