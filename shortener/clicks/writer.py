"""Writing a batch of clicks: each click id once, with its rollups and link counters, in one
transaction.

Only the clicks the INSERT actually inserted (its RETURNING rows) reach the rollups, so a
retried batch counts nothing twice. Rollup rows are aggregated in Python first, then upserted
(`ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks`) in key order, so concurrent
flushers in several workers lock rows in the same order and cannot deadlock each other.

Statements are Core inserts run with a list of parameter sets: SQLAlchemy compiles each once
(cached) and batches them itself ("insertmanyvalues"), where `.values(rows)` compiled a new
statement for every batch, several times slower than the database work.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from shortener.clicks.enrich import Agent, parse_agent, referrer_host
from shortener.clicks.events import ClickRecord
from shortener.clicks.salts import day_of
from shortener.models import (
    Click,
    ClickDimension,
    ClickDimensionDaily,
    ClickRollup,
    Link,
    LinkVisitor,
)

DIMENSIONS = ("referrer", "country", "browser", "os", "device")


def _insert(dialect: str) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert


async def write_clicks(session: AsyncSession, clicks: Sequence[ClickRecord]) -> int:
    """Insert the clicks not yet written and count them everywhere; returns how many."""
    if not clicks:
        return 0
    link_ids = {c.link_id for c in clicks}
    live = set(
        (await session.execute(select(col(Link.id)).where(col(Link.id).in_(link_ids)))).scalars()
    )
    # Clicks of links deleted since the redirect have nothing left to count on.
    # The same click twice in one batch (a redelivery that met its original) is one click: the
    # insert would skip the second copy, but the counts below are made from these rows.
    seen: set[str] = set()
    unique = []
    for click in clicks:
        if click.link_id in live and click.id not in seen:
            seen.add(click.id)
            unique.append(click)
    clicks = unique
    if not clicks:
        return 0
    # Parsing user agents is CPU work (~0.1 ms each when not cached): off the event loop.
    rows = await asyncio.to_thread(_enrich, clicks)
    dialect = session.get_bind().dialect.name
    clicks_table = _table(Click)
    stmt = (
        _insert(dialect)(clicks_table)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(clicks_table.c.id)
    )
    inserted_ids = set((await session.execute(stmt, rows)).scalars())
    inserted = [row for row in rows if row["id"] in inserted_ids]
    if not inserted:
        return 0
    first_visits = await _new_visitors(session, dialect, inserted)
    await _write_rollups(session, dialect, inserted, first_visits)
    per_link = Counter(row["link_id"] for row in inserted)
    for link_id, n in sorted(per_link.items()):
        # This counter is also the stats cache's version of the link: bumped in this
        # transaction, so a stats answer computed from these rollups is never cached under
        # the version before them.
        await session.execute(
            update(Link).where(col(Link.id) == link_id).values(clicks=col(Link.clicks) + n)
        )
    return len(inserted)


def _enrich(clicks: Sequence[ClickRecord]) -> list[dict[str, Any]]:
    agents: dict[str, Agent] = {}
    rows = []
    for click in clicks:
        agent = agents.get(click.user_agent)
        if agent is None:
            agent = agents[click.user_agent] = parse_agent(click.user_agent)
        rows.append(
            {
                "id": click.id,
                "link_id": click.link_id,
                "clicked_at": datetime.fromtimestamp(click.ts, UTC),
                "referrer_host": referrer_host(click.referrer),
                "country": click.country,
                "browser": agent.browser,
                "os": agent.os,
                "device": agent.device,
                "is_bot": agent.is_bot,
                "visitor_hash": click.visitor_hash,
                "variant": click.variant,
            }
        )
    return rows


async def _new_visitors(
    session: AsyncSession, dialect: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows that are a visitor's first click of the day on a link (earliest in the batch)."""
    firsts: dict[tuple[int, int, str], dict[str, Any]] = {}
    for row in rows:
        if row["visitor_hash"] is None:
            continue
        key = (row["link_id"], day_of(row["clicked_at"].timestamp()), row["visitor_hash"])
        if key not in firsts or row["clicked_at"] < firsts[key]["clicked_at"]:
            firsts[key] = row
    if not firsts:
        return []
    table = _table(LinkVisitor)
    values = [{"link_id": k[0], "day": k[1], "visitor_hash": k[2]} for k in sorted(firsts)]
    stmt = (
        _insert(dialect)(table)
        .on_conflict_do_nothing()
        .returning(table.c.link_id, table.c.day, table.c.visitor_hash)
    )
    new = {(a, b, c) for a, b, c in (await session.execute(stmt, values)).all()}
    return [firsts[key] for key in new]


async def _write_rollups(
    session: AsyncSession,
    dialect: str,
    rows: list[dict[str, Any]],
    first_visits: list[dict[str, Any]],
) -> None:
    clicks: Counter[tuple[int, int, bool]] = Counter()
    visitors: Counter[tuple[int, int, bool]] = Counter()
    dimensions: Counter[tuple[int, int, bool, str, str]] = Counter()
    for row in rows:
        key = (row["link_id"], _hour(row), row["is_bot"])
        clicks[key] += 1
        for dimension in DIMENSIONS:
            value = row["referrer_host" if dimension == "referrer" else dimension] or ""
            dimensions[(*key, dimension, value)] += 1
        if row["variant"] is not None:  # only links with an A/B split have this dimension
            dimensions[(*key, "variant", str(row["variant"]))] += 1
    for row in first_visits:
        visitors[(row["link_id"], _hour(row), row["is_bot"])] += 1
    rollups = [
        {"link_id": k[0], "hour": k[1], "is_bot": k[2], "clicks": n, "visitors": visitors[k]}
        for k, n in sorted(clicks.items())
    ]
    await _upsert(session, dialect, ClickRollup, rollups, ("clicks", "visitors"))
    daily: Counter[tuple[int, int, bool, str, str]] = Counter()
    for (link_id, hour, is_bot, dimension, value), n in dimensions.items():
        daily[(link_id, hour // 24, is_bot, dimension, value)] += n
    daily_rows = [
        {
            "link_id": k[0],
            "day": k[1],
            "is_bot": k[2],
            "dimension": k[3],
            "value": k[4],
            "clicks": n,
        }
        for k, n in sorted(daily.items())
    ]
    await _upsert(session, dialect, ClickDimensionDaily, daily_rows, ("clicks",))
    dimension_rows = [
        {
            "link_id": k[0],
            "hour": k[1],
            "is_bot": k[2],
            "dimension": k[3],
            "value": k[4],
            "clicks": n,
        }
        for k, n in sorted(dimensions.items())
    ]
    await _upsert(session, dialect, ClickDimension, dimension_rows, ("clicks",))


async def _upsert(
    session: AsyncSession,
    dialect: str,
    model: type[SQLModel],
    rows: list[dict[str, Any]],
    counters: tuple[str, ...],
) -> None:
    if not rows:
        return
    table = _table(model)
    stmt = _insert(dialect)(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={name: table.c[name] + stmt.excluded[name] for name in counters},
    )
    await session.execute(stmt, rows)


def _table(model: type[SQLModel]) -> Any:
    return model.__table__  # type: ignore[attr-defined]


def _hour(row: dict[str, Any]) -> int:
    return int(row["clicked_at"].timestamp() // 3600)
