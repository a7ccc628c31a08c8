"""Forgetting one link's clicks on request: raw clicks, rollups, breakdowns and counters.

Shlink lets a client delete a short URL's visits; afterwards the link reads as never visited
everywhere (lists, statistics, max_clicks), as it does there.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.db import after_commit
from shortener.keys import link_ident
from shortener.links.context import LinkContext
from shortener.models import (
    Click,
    ClickDimension,
    ClickDimensionDaily,
    ClickRollup,
    Link,
    LinkVisitor,
    utcnow,
)


async def erase_clicks(session: AsyncSession, *, link: Link, ctx: LinkContext) -> int:
    """Delete every click of `link`, bots' too; the number of clicks it had counted."""
    counted = link.clicks + link.bot_clicks
    for table in (Click, ClickRollup, ClickDimension, ClickDimensionDaily, LinkVisitor):
        await session.execute(delete(table).where(col(table.link_id) == link.id))  # type: ignore[attr-defined]
    link.clicks = link.bot_clicks = 0
    # max_clicks counts visits: with them gone, the link may be visited again.
    link.uses = 0
    link.updated_at = utcnow()  # the statistics cache keys on it
    session.add(link)
    await session.flush()
    # The cache names a link on a custom domain by its domain too (keys.link_ident).
    key = link_ident(link.domain_id, link.key)
    after_commit(session, lambda: ctx.cache.invalidate(key))
    return counted
