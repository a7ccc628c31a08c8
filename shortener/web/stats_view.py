"""The seam between the pages and the statistics service (shortener.stats)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from shortener.models import Link, User
from shortener.web.windows import StatsWindow


async def load_link_stats(
    request: Request, session: AsyncSession, link: Link, window: StatsWindow
) -> dict[str, Any] | None:
    """The link's statistics in the API's shape, or None while no stats service is installed."""
    return None


async def load_overview(
    request: Request, session: AsyncSession, user: User, window: StatsWindow
) -> dict[str, Any] | None:
    """The account's totals over the window, or None while no stats service is installed."""
    return None
