"""Forgetting: raw clicks and raw visits to unknown links past CLICK_RETENTION_DAYS, visitor
hashes no longer needed, the per-minute counts of the orphan-visit cap once past, and audit
events past AUDIT_RETENTION_DAYS.

Rollups stay forever: they hold counts, nothing about anyone. Deletes go in slices so a
first cleanup of millions of rows never holds the write lock long enough to stall the flusher.
On PostgreSQL, raw clicks are partitioned by month (partitions.py): the months entirely past
the cutoff are dropped whole, and rows are deleted only from the month that straddles it (and
from the default partition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shortener.audit.service import forget_old
from shortener.clicks.partitions import drop_expired_sync
from shortener.clicks.salts import day_of
from shortener.models import Click, LinkVisitor, OrphanMinute, OrphanVisit

SLICE = 5_000
# Visitor rows let a visitor count once a day; a click is rarely flushed days late, and once
# the day's salt is gone no new click can carry that day's hashes, so three days suffice.
VISITOR_DAYS_KEPT = 3
# The cap's counts matter for the minute a batch is written in; a day covers late batches.
ORPHAN_MINUTES_KEPT = 24 * 60


@dataclass(frozen=True, slots=True)
class Cleaned:
    clicks: int
    visitors: int
    orphan_visits: int = 0
    audit_events: int = 0


async def cleanup(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    retention_days: int,
    audit_retention_days: int | None = None,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Cleaned:
    """`progress` is told how many raw clicks and visits each slice deleted (the CLI's bar,
    whose total count_expired gives)."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    async with sessionmaker() as session, session.begin():
        conn = await session.connection()
        dropped = await conn.run_sync(drop_expired_sync, cutoff)
    if dropped and progress is not None:
        progress(dropped)
    clicks = dropped + await _in_slices(sessionmaker, Click.id, Click.clicked_at, cutoff, progress)
    orphans = await _in_slices(
        sessionmaker, OrphanVisit.id, OrphanVisit.visited_at, cutoff, progress
    )
    async with sessionmaker() as session, session.begin():
        first_day_kept = day_of(now.timestamp()) - (VISITOR_DAYS_KEPT - 1)
        result = await session.execute(
            delete(LinkVisitor).where(col(LinkVisitor.day) < first_day_kept)
        )
        visitors = int(result.rowcount or 0)  # type: ignore[attr-defined]
        first_minute_kept = int(now.timestamp()) // 60 - ORPHAN_MINUTES_KEPT
        await session.execute(
            delete(OrphanMinute).where(col(OrphanMinute.minute) < first_minute_kept)
        )
        audit = 0
        if audit_retention_days is not None:
            # Few rows (people's actions, not visits): one statement is enough.
            audit = await forget_old(session, retention_days=audit_retention_days, now=now)
    return Cleaned(clicks=clicks, visitors=visitors, orphan_visits=orphans, audit_events=audit)


async def count_expired(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    retention_days: int,
    now: datetime | None = None,
) -> int:
    """How many raw clicks and visits cleanup would delete now (a COUNT of each table)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    async with sessionmaker() as session:
        total = 0
        for at in (Click.clicked_at, OrphanVisit.visited_at):
            old = select(func.count()).where(col(at) < cutoff)
            total += int((await session.execute(old)).scalar_one())
        return total


async def _in_slices(
    sessionmaker: async_sessionmaker[AsyncSession],
    id_: Any,
    at: Any,
    cutoff: datetime,
    progress: Callable[[int], None] | None,
) -> int:
    """Delete the rows older than cutoff, SLICE at a time; returns how many."""
    deleted = 0
    while True:
        async with sessionmaker() as session, session.begin():
            ids = select(col(id_)).where(col(at) < cutoff).limit(SLICE)
            table = id_.class_
            # The cutoff again outside: on PostgreSQL's monthly partitions it limits the
            # delete to the partitions that can hold such rows (the ids alone would be looked
            # up in every month's primary key: 4x slower at 20 million clicks).
            chosen = col(id_).in_(ids.scalar_subquery())
            result = await session.execute(delete(table).where(col(at) < cutoff, chosen))
            n = int(result.rowcount or 0)  # type: ignore[attr-defined]
        deleted += n
        if progress is not None:
            progress(n)
        if n < SLICE:
            return deleted
