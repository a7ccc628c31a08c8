"""Forgetting: raw clicks past CLICK_RETENTION_DAYS and visitor hashes no longer needed.

Rollups stay forever: they hold counts, nothing about anyone. Deletes go in slices so a
first cleanup of millions of rows never holds the write lock long enough to stall the flusher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shortener.clicks.salts import day_of
from shortener.models import Click, LinkVisitor

SLICE = 5_000
# Visitor rows let a visitor count once a day; a click is rarely flushed days late, and once
# the day's salt is gone no new click can carry that day's hashes, so three days suffice.
VISITOR_DAYS_KEPT = 3


@dataclass(frozen=True, slots=True)
class Cleaned:
    clicks: int
    visitors: int


async def cleanup(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    retention_days: int,
    now: datetime | None = None,
) -> Cleaned:
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    clicks = 0
    while True:
        async with sessionmaker() as session, session.begin():
            n = await _delete_clicks_slice(session, cutoff)
        clicks += n
        if n < SLICE:
            break
    async with sessionmaker() as session, session.begin():
        first_day_kept = day_of(now.timestamp()) - (VISITOR_DAYS_KEPT - 1)
        result = await session.execute(
            delete(LinkVisitor).where(col(LinkVisitor.day) < first_day_kept)
        )
        visitors = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return Cleaned(clicks=clicks, visitors=visitors)


async def _delete_clicks_slice(session: AsyncSession, cutoff: datetime) -> int:
    ids = select(col(Click.id)).where(col(Click.clicked_at) < cutoff).limit(SLICE)
    result = await session.execute(delete(Click).where(col(Click.id).in_(ids.scalar_subquery())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
