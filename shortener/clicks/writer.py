"""Writing a batch of clicks: each click id once, with its rollups and link counters, in one
transaction.

Only the clicks the INSERT actually inserted (its RETURNING rows) reach the rollups, so a
retried batch counts nothing twice. Rollup rows are aggregated in Python first, then upserted
(`ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks`) in key order, so concurrent
flushers in several workers lock rows in the same order and cannot deadlock each other.

Statements have one fixed text whatever the batch and are run by the driver itself: on
PostgreSQL one array a column (`unnest`), on SQLite one prepared statement run for each row
(rows.upsert). SQLAlchemy's insertmanyvalues handed PostgreSQL a new multi-row statement for
every page of rows, and planning them cost more than the rows (bench/click_pipeline_bench.py
--links). SQLite's look-ups of a batch's ids take them as one JSON array (`json_each`), its
counterpart of PostgreSQL's arrays.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shortener.clicks.events import ClickRecord, OrphanRecord
from shortener.clicks.orphans import write_orphans_sync
from shortener.clicks.rows import DIMENSIONS, enrich_rows, table_of, upsert
from shortener.models import (
    Click,
    ClickDimension,
    ClickDimensionDaily,
    ClickRollup,
)

# What ORPHAN_VISITS_PER_MINUTE defaults to (config.py), for callers without settings.
ORPHANS_PER_MINUTE = 600


async def write_clicks(
    session: AsyncSession,
    clicks: Sequence[ClickRecord],
    *,
    orphans_per_minute: int = ORPHANS_PER_MINUTE,
) -> int:
    """Insert the clicks not yet written and count them everywhere; returns how many."""
    return await session.run_sync(write_clicks_sync, clicks, orphans_per_minute=orphans_per_minute)


def write_clicks_sync(
    session: Session,
    clicks: Sequence[ClickRecord],
    *,
    orphans_per_minute: int = ORPHANS_PER_MINUTE,
) -> int:
    """write_clicks for a plain Session: the click writer's thread calls it directly.

    Visits to unknown links travel with the clicks and are written in the same transaction.
    """
    orphans = [c for c in clicks if isinstance(c, OrphanRecord)]
    if not orphans:
        return _write_link_clicks(session, clicks)
    # The count returned is of link clicks (the metrics' clicks flushed); orphan visits apart.
    write_orphans_sync(session, orphans, per_minute=orphans_per_minute)
    return _write_link_clicks(session, [c for c in clicks if not c.orphan])


def _write_link_clicks(session: Session, clicks: Sequence[ClickRecord]) -> int:
    if not clicks:
        return 0
    dialect = session.get_bind().dialect.name
    live = _lock_live_links(session, dialect, {c.link_id for c in clicks})
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
    # Parsing user agents is CPU work (~0.05 ms each when not cached): the app runs this on the
    # click writer's thread, off the requests' event loop.
    rows = enrich_rows(clicks)
    inserted = _insert_new(session, dialect, rows)
    if not inserted:
        return 0
    first_visits = _new_visitors(session, dialect, inserted)
    _write_rollups(session, dialect, inserted, first_visits)
    people = Counter(row["link_id"] for row in inserted if not row["is_bot"])
    bots = Counter(row["link_id"] for row in inserted if row["is_bot"])
    # These counters are also the stats cache's version of the link: bumped in this
    # transaction, so a stats answer computed from these rollups is never cached under the
    # version before them. One statement for every link of the batch, in id order (as locks
    # are taken): an ORM UPDATE per link was most of a click's cost when clicks are spread
    # over many links (bench/scale_bench.py, uniform keys).
    link_ids = sorted(people | bots)
    conn = session.connection()
    if dialect == "postgresql":
        # One UPDATE for the batch; its rows were locked in id order by _lock_live_links (the
        # UPDATE's join order is the planner's to choose).
        counts = ([people[i] for i in link_ids], [bots[i] for i in link_ids])
        conn.exec_driver_sql(_PG_ADD_CLICKS, (link_ids, *counts))
    else:
        conn.exec_driver_sql(_ADD_CLICKS, [(people[i], bots[i], i) for i in link_ids])
    return len(inserted)


def _lock_live_links(session: Session, dialect: str, link_ids: set[int]) -> set[int]:
    """The links of these ids that still exist, locked until the commit: the batch updates
    their counters, and a link deleted in between would fail the batch's foreign keys.

    On PostgreSQL the statement locks them in id order (its ORDER BY), so that concurrent
    flushers in several workers cannot deadlock each other. SQLite's transactions begin
    IMMEDIATE: one writer at a time, the whole database locked already."""
    if dialect == "postgresql":  # an array: one statement text whatever the count
        result = session.connection().exec_driver_sql(_PG_LOCK_LINKS, (list(link_ids),))
        return set(result.scalars())
    result = session.connection().exec_driver_sql(_SQLITE_LIVE_LINKS, (_json_array(link_ids),))
    return set(result.scalars())


_PG_LOCK_LINKS = "SELECT id FROM links WHERE id = ANY($1::integer[]) ORDER BY id FOR NO KEY UPDATE"


# SQLite's counterpart of an array parameter: one JSON array, one statement text whatever the
# count, run by the driver. Through SQLAlchemy's select() each batch's IN list was compiled
# anew, and the first visits went through insertmanyvalues with RETURNING: the writer's CPU a
# click spread over 50,000 links 91.4 -> 88.6 µs (medians of three alternating runs of
# bench/click_pipeline_bench.py --links 50000; the SQLite work itself is most of the rest).
def _json_array(values: Iterable[Any]) -> str:
    """The values as the JSON array SQLite's json_each reads: text, since it takes no BLOB."""
    return orjson.dumps(list(values)).decode()


_SQLITE_LIVE_LINKS = "SELECT id FROM links WHERE id IN (SELECT value FROM json_each(?))"
_SQLITE_PRESENT_CLICKS = "SELECT id FROM clicks WHERE id IN (SELECT value FROM json_each(?))"
_PG_ADD_CLICKS = (
    "UPDATE links SET clicks = links.clicks + u.n, bot_clicks = links.bot_clicks + u.b "
    "FROM unnest($1::integer[], $2::bigint[], $3::bigint[]) AS u(id, n, b) WHERE links.id = u.id"
)
_ADD_CLICKS = "UPDATE links SET clicks = clicks + ?, bot_clicks = bot_clicks + ? WHERE id = ?"


# The raw click rows skip SQLAlchemy's per-row parameter processing: through Core they cost
# ~30 µs a click, several times the database's own work (bench/click_pipeline_bench.py).
_CLICK_COLUMNS = (
    "id",
    "link_id",
    "clicked_at",
    "referrer_host",
    "country",
    "browser",
    "os",
    "device",
    "is_bot",
    "visitor_hash",
    "variant",
)
_COLUMN_LIST = ", ".join(_CLICK_COLUMNS)
_click_values = operator.itemgetter(*_CLICK_COLUMNS)
_PLACEHOLDERS = ", ".join("?" * len(_CLICK_COLUMNS))


# PostgreSQL: one statement for the whole batch, one array per column; RETURNING tells which
# ids were new even when another worker writes a redelivered copy at the same moment. The
# table is partitioned by month, so its primary key is (id, clicked_at): a redelivered click
# carries the time it was made with it, and meets its original there.
_PG_INSERT = (
    f"INSERT INTO clicks ({_COLUMN_LIST}) "  # noqa: S608 (constants only)
    "SELECT * FROM unnest($1::varchar[], $2::int[], $3::timestamptz[], $4::varchar[], "
    "$5::varchar[], $6::varchar[], $7::varchar[], $8::varchar[], $9::bool[], $10::varchar[], "
    "$11::int[]) ON CONFLICT (id, clicked_at) DO NOTHING RETURNING id"
)
# SQLite: transactions begin IMMEDIATE (one writer at a time), so the ids found present at
# the start of this one are exactly the ones the insert would skip.
_SQLITE_INSERT = (
    f"INSERT INTO clicks ({_COLUMN_LIST}) VALUES ({_PLACEHOLDERS}) "  # noqa: S608 (constants)
    "ON CONFLICT (id) DO NOTHING"
)


def _insert_new(session: Session, dialect: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert the rows whose click id is not in the database yet; returns those rows."""
    conn = session.connection()
    to_db = table_of(Click).c.clicked_at.type.bind_processor(conn.dialect)
    if dialect == "postgresql":
        columns = [[row[name] for row in rows] for name in _CLICK_COLUMNS]
        columns[2] = [to_db(value) for value in columns[2]]
        result = conn.exec_driver_sql(_PG_INSERT, tuple(columns))
        new = set(result.scalars())
        return [row for row in rows if row["id"] in new]
    ids = _json_array([row["id"] for row in rows])
    present = set(conn.exec_driver_sql(_SQLITE_PRESENT_CLICKS, (ids,)).scalars())
    new_rows = [row for row in rows if row["id"] not in present]
    if new_rows:
        values = [list(_click_values(row)) for row in new_rows]
        for value in values:
            value[2] = to_db(value[2])  # clicked_at, as SQLAlchemy would store it
        conn.exec_driver_sql(_SQLITE_INSERT, [tuple(value) for value in values])
    return new_rows


def _new_visitors(
    session: Session, dialect: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows that are a visitor's first click of the day on a link (earliest in the batch)."""
    firsts: dict[tuple[int, int, str], dict[str, Any]] = {}
    for row in rows:
        if row["visitor_hash"] is None:
            continue
        key = (row["link_id"], row["hour"] // 24, row["visitor_hash"])
        if key not in firsts or row["clicked_at"] < firsts[key]["clicked_at"]:
            firsts[key] = row
    if not firsts:
        return []
    if dialect == "postgresql":
        keys = sorted(firsts)
        result = session.connection().exec_driver_sql(
            _PG_NEW_VISITORS, tuple([key[i] for key in keys] for i in range(3))
        )
        return [firsts[(a, b, c)] for a, b, c in result.all()]
    # SQLite: one writer at a time (IMMEDIATE), so the visits found already written at the
    # start are exactly the ones an insert would skip; the rest are inserted as they are.
    keys = sorted(firsts)
    conn = session.connection()
    found = conn.exec_driver_sql(_SQLITE_PRESENT_VISITORS, (_json_array(keys),))
    present = {(a, b, c) for a, b, c in found.all()}
    new = [key for key in keys if key not in present]
    if new:
        conn.exec_driver_sql(_SQLITE_NEW_VISITOR, new)
    return [firsts[key] for key in new]


_SQLITE_PRESENT_VISITORS = (
    "SELECT v.link_id, v.day, v.visitor_hash FROM json_each(?) AS k JOIN link_visitors AS v "
    "ON v.link_id = json_extract(k.value, '$[0]') AND v.day = json_extract(k.value, '$[1]') "
    "AND v.visitor_hash = json_extract(k.value, '$[2]')"
)
_SQLITE_NEW_VISITOR = (
    "INSERT INTO link_visitors (link_id, day, visitor_hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)
_PG_NEW_VISITORS = (
    "INSERT INTO link_visitors (link_id, day, visitor_hash) "
    "SELECT * FROM unnest($1::integer[], $2::integer[], $3::varchar[]) "
    "ON CONFLICT DO NOTHING RETURNING link_id, day, visitor_hash"
)


def _write_rollups(
    session: Session,
    dialect: str,
    rows: list[dict[str, Any]],
    first_visits: list[dict[str, Any]],
) -> None:
    clicks: Counter[tuple[int, int, bool]] = Counter()
    visitors: Counter[tuple[int, int, bool]] = Counter()
    dimensions: Counter[tuple[int, int, bool, str, str]] = Counter()
    # Clicks that look alike (same link, hour and dimension values) are counted together
    # first: a batch holds far fewer such groups than clicks.
    alike = Counter(_profile(row) for row in rows)
    for (link_id, hour, is_bot, variant, *values), n in alike.items():
        key = (link_id, hour, is_bot)
        clicks[key] += n
        for dimension, value in zip(DIMENSIONS, values, strict=True):
            # An unknown value (no referrer, no country) has no row: the statistics count it
            # as what the known values leave of click_rollups' clicks. Direct visits without
            # GeoIP were four of a click's ten dimension rows, each an upsert.
            if value:
                dimensions[(*key, dimension, value)] += n
        if variant is not None:  # only links with an A/B split have this dimension
            dimensions[(*key, "variant", str(variant))] += n
    for row in first_visits:
        visitors[(row["link_id"], row["hour"], row["is_bot"])] += 1
    rollups = [
        {"link_id": k[0], "hour": k[1], "is_bot": k[2], "clicks": n, "visitors": visitors[k]}
        for k, n in sorted(clicks.items())
    ]
    upsert(session, dialect, ClickRollup, rollups, ("clicks", "visitors"))
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
    upsert(session, dialect, ClickDimensionDaily, daily_rows, ("clicks",))
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
    upsert(session, dialect, ClickDimension, dimension_rows, ("clicks",))


_profile = operator.itemgetter(
    "link_id", "hour", "is_bot", "variant", "referrer_host", "country", "browser", "os", "device"
)
