"""The seam between the pages and the statistics service (shortener.stats).

The pages ask the same lru_cache-backed service the API uses (no queries of their own) and turn
its answers, in the API's shape, into charts. Until the statistics service is part of the
build, both functions answer None and the pages show the all-time click counter alone.
"""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from shortener.models import User
from shortener.web.charts import breakdown_chart, sparkline, timeseries_chart
from shortener.web.windows import StatsWindow

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


def _stats_service() -> Any:
    try:
        return importlib.import_module("shortener.stats.service")
    except ModuleNotFoundError:
        return None


def _service_window(window: StatsWindow) -> Any:
    from shortener.stats.window import Window

    return Window(int(window.start.timestamp()), int(window.end.timestamp()), window.interval)


async def load_link_stats(
    request: Request, session: AsyncSession, user: User, key: str, window: StatsWindow
) -> dict[str, Any] | None:
    """The link's statistics as charts, or None while no stats service is installed."""
    service = _stats_service()
    if service is None:
        return None
    answer = await service.link_stats(
        session,
        user=user,
        key=key,
        window=_service_window(window),
        include_bots=False,
        top=TOP,
        cache=request.app.state.stats_cache,
    )
    data = answer.model_dump()
    return {
        "total_clicks": data["total_clicks"],
        "unique_visitors": data["unique_visitors"],
        "chart": timeseries_chart(
            data["timeseries"], interval=window.interval, start=window.start, end=window.end
        ),
        "breakdowns": {
            name: breakdown_chart(data[name], title=title, unknown=unknown, limit=BARS)
            for name, (title, unknown) in BREAKDOWNS.items()
        },
    }


async def load_overview(
    request: Request, session: AsyncSession, user: User, window: StatsWindow
) -> dict[str, Any] | None:
    """The account's totals over the window, or None while no stats service is installed."""
    service = _stats_service()
    if service is None:
        return None
    answer = await service.account_stats(
        session,
        user=user,
        window=_service_window(window),
        include_bots=False,
        top=TOP_LINKS,
        base_url=request.app.state.settings.base_url,
        cache=request.app.state.stats_cache,
    )
    data = answer.model_dump()
    points = data["timeseries"]
    return {
        "total_clicks": data["total_clicks"],
        "unique_visitors": data["unique_visitors"],
        "links": data["links"],
        "chart": timeseries_chart(
            points, interval=window.interval, start=window.start, end=window.end, height=200
        ),
        "sparkline": sparkline(
            points, interval=window.interval, start=window.start, end=window.end
        ),
        "top_links": data["top_links"],
    }
