"""Writing a batch of clicks: each click id once, link counters in the same transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.clicks.events import ClickRecord
from shortener.models import Click, Link


def _insert(dialect: str) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert


async def write_clicks(session: AsyncSession, clicks: Sequence[ClickRecord]) -> int:
    """Insert the clicks not yet written and count them on their links; returns how many."""
    if not clicks:
        return 0
    link_ids = {c.link_id for c in clicks}
    live = set(
        (await session.execute(select(col(Link.id)).where(col(Link.id).in_(link_ids)))).scalars()
    )
    # Clicks of links deleted since the redirect have nothing left to count on.
    rows = [_row(c) for c in clicks if c.link_id in live]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    # Core, not the ORM: one cached statement run as executemany, not a fresh compile per batch.
    table: Table = Click.__table__  # type: ignore[attr-defined]
    stmt = (
        _insert(dialect)(table)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(table.c.id, table.c.link_id)
    )
    conn = await session.connection()
    inserted = (await conn.execute(stmt, rows)).all()
    per_link = Counter(link_id for _, link_id in inserted)
    for link_id, n in per_link.items():
        await session.execute(
            update(Link).where(col(Link.id) == link_id).values(clicks=col(Link.clicks) + n)
        )
    return len(inserted)


def _row(click: ClickRecord) -> dict[str, Any]:
    return {
        "id": click.id,
        "link_id": click.link_id,
        "clicked_at": datetime.fromtimestamp(click.ts, UTC),
        "country": click.country,
        "visitor_hash": click.visitor_hash,
        "variant": click.variant,
        "is_bot": False,
    }
