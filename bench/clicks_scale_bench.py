"""Raw clicks at scale on PostgreSQL: 20 million clicks, partitioned by month.

    python bench/clicks_scale_bench.py [--clicks N] [--links N] [--sample N] [--database-url URL]

Creates a database of its own on --database-url (default TEST_DATABASE_URL), migrates it (so
`clicks` is partitioned by month), and drops it at the end. Then:

1. the flusher's clicks/s on the empty database (the baseline): `--sample` clicks (default
   50,000) queued, written by the real Flusher and writer in batches of 1,000;
2. loads `--clicks` raw clicks (default 20,000,000) with INSERT ... SELECT generate_series, over
   `--links` links (default 10,000; skewed: the hottest link gets ~1/3 of them) and the last
   12 months, into their monthly partitions, then builds the rollups the stats read from them
   (GROUP BY, as the writer would have counted them);
3. the same flusher run again, now on top of the loaded table: clicks/s and the ratio;
4. stats latency, cold (no cache) and cached, through the real stats service: the hottest
   link (30 days by day, 12 months by day, 7 days by hour), the account overview (30 days),
   and the raw-click readers (the Shlink-compatible visits pages: first and a deep page);
5. table and index size per million clicks, partitioned and as one plain table (a copy with
   the same indexes, loaded the same way);
6. retention with a cutoff a few days into the second-oldest month: the real cleanup()
   (drops the oldest month whole, deletes the straddling days in slices) against deleting the
   same rows from the plain table in the same slices (retention.py before partitions).

Prints the load average with the figures (other work on the machine slows everything).
Figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.engine import make_url
from stats_bench import make_clicks, postgres_database, timed, write_through_flusher

from shortener.clicks import partitions
from shortener.clicks.retention import SLICE, cleanup
from shortener.db import make_engine, make_sessionmaker
from shortener.migrate import upgrade
from shortener.models import Link, User
from shortener.stats import service, visits
from shortener.stats.cache import StatsCache
from shortener.stats.window import resolve_window

MONTHS = 12
CHUNK = 1_000_000
DAY = 86_400
COLUMNS = (
    "id, link_id, clicked_at, referrer_host, country, browser, os, device, is_bot, "
    "visitor_hash, variant"
)
# n is the click's number; r1..r3 random numbers per row. Values drawn as live traffic has them.
GENERATE = f"""
INSERT INTO {{table}} ({COLUMNS})
SELECT 'b' || lpad(to_hex(n % 7), 15, '0') || lpad(to_hex(n), 16, '0'),
       CAST(:first_link AS int) + floor(CAST(:links AS int) * r1 * r1 * r1)::int,
       to_timestamp(CAST(:start AS float8) + r2 * CAST(:span AS float8)),
       (ARRAY[NULL, 't.co', 'news.ycombinator.com', 'www.google.com', 'blog1.example.com',
              'blog2.example.com'])[1 + floor(r3 * 6)::int],
       (ARRAY['US', 'GB', 'DE', 'FR', 'JP', 'BR', 'IN', 'CA', NULL])[1 + (n % 9)],
       (ARRAY['Chrome', 'Safari', 'Firefox', 'Edge', 'Googlebot'])[1 + (n % 5)],
       (ARRAY['Windows', 'iOS', 'Linux', 'Android', 'macOS'])[1 + (n / 5 % 5)],
       (ARRAY['desktop', 'mobile', 'tablet', 'bot'])[1 + (n / 25 % 4)],
       n % 10 = 0,
       md5((n / 5)::text) || md5((n / 5)::text || 'x'),
       NULL
FROM (SELECT n, random() AS r1, random() AS r2, random() AS r3
      FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS n) AS g
"""
ROLLUPS = [
    """INSERT INTO click_rollups (link_id, hour, is_bot, clicks, visitors)
       SELECT link_id, floor(extract(epoch FROM clicked_at) / 3600)::int AS h, is_bot,
              count(*), count(*) / 3
       FROM clicks WHERE link_id < (SELECT max(id) FROM links)
       GROUP BY link_id, h, is_bot""",
    """INSERT INTO click_dimensions_daily (link_id, day, is_bot, dimension, value, clicks)
       SELECT link_id, floor(extract(epoch FROM clicked_at) / 86400)::int AS d, is_bot,
              dim, coalesce(val, ''), count(*)
       FROM clicks, LATERAL (VALUES ('referrer', referrer_host), ('country', country),
            ('browser', browser), ('os', os), ('device', device)) AS v(dim, val)
       WHERE link_id = (SELECT min(id) FROM links)
       GROUP BY link_id, d, is_bot, dim, coalesce(val, '')""",
    # Hour windows span at most 31 days: the hourly dimensions of the last 31 days. The last link
    # is the flusher's sample, counted by the writer itself.
    """INSERT INTO click_dimensions (link_id, hour, is_bot, dimension, value, clicks)
       SELECT link_id, floor(extract(epoch FROM clicked_at) / 3600)::int AS h, is_bot,
              dim, coalesce(val, ''), count(*)
       FROM clicks, LATERAL (VALUES ('referrer', referrer_host), ('country', country),
            ('browser', browser), ('os', os), ('device', device)) AS v(dim, val)
       WHERE clicked_at >= now() - interval '31 days' AND link_id = (SELECT min(id) FROM links)
       GROUP BY link_id, h, is_bot, dim, coalesce(val, '')""",
    """UPDATE links SET clicks = r.people, bot_clicks = r.bots
       FROM (SELECT link_id, sum(clicks) FILTER (WHERE NOT is_bot) AS people,
                    sum(clicks) FILTER (WHERE is_bot) AS bots
             FROM click_rollups GROUP BY link_id) AS r WHERE links.id = r.link_id""",
]
# A plain table is no partition tree: pg_partition_tree gives nothing for it.
SIZES = """
SELECT coalesce(sum(pg_table_size(relid)), pg_table_size(CAST(:t AS regclass))),
       coalesce(sum(pg_indexes_size(relid)), pg_indexes_size(CAST(:t AS regclass)))
FROM pg_partition_tree(CAST(:t AS regclass)) WHERE isleaf
"""


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


async def run(url: str, n_clicks: int, n_links: int, sample: int) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    rng = random.Random(42)
    now = time.time()
    print(f"load average at start: {load_average()}")
    try:
        async with sessionmaker() as session, session.begin():
            user = User(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", password_hash="x")
            session.add(user)
            await session.flush()
            owner = user.id or 0
            await session.execute(
                text(
                    "INSERT INTO links (key, url, url_md5, key_strategy, owner_id, created_at, "
                    "updated_at, uses, redirect_type, is_active, clicks, bot_clicks) "
                    "SELECT 'k' || n, 'https://example.com/' || n, md5(n::text), 'alias', :o, "
                    "now(), now(), 0, 302, true, 0, 0 FROM generate_series(1, :n) AS n"
                ),
                {"o": owner, "n": n_links + 1},
            )
            first = (await session.execute(text("SELECT min(id) FROM links"))).scalar_one()
        sample_link = first + n_links  # the last one: the flusher's sample, not in the load

        # A first small run warms the process (imports, statement caches) for the baseline.
        await write_through_flusher(
            sessionmaker, make_clicks(sample_link, 2000, now - 90, 1, rng), 1000
        )
        clicks = make_clicks(sample_link, sample, now - 60, 60, rng)
        base = sample / await write_through_flusher(sessionmaker, clicks, 1000)
        print(f"flusher on the empty table: {base:,.0f} clicks/s (batches of 1,000)")

        # The last 12 months' partitions, as the flushers would have made them month by month.
        this = partitions.Month.of(datetime.fromtimestamp(now, UTC))
        async with engine.begin() as conn:
            for month in partitions.month_range(this.plus(-MONTHS), this):
                if month not in await conn.run_sync(partitions.months):
                    await conn.run_sync(partitions.create_month, month)
        start = now - MONTHS * 30.4 * DAY
        started = time.perf_counter()
        for lo in range(1, n_clicks + 1, CHUNK):
            hi = min(lo + CHUNK - 1, n_clicks)
            async with engine.begin() as conn:
                await conn.execute(
                    text(GENERATE.format(table="clicks")),
                    {"first_link": first, "links": n_links, "start": start,
                     "span": now - 120 - start, "lo": lo, "hi": hi},
                )  # fmt: skip
            print(f"  loaded {hi:,} clicks, {time.perf_counter() - started:.0f} s", flush=True)
        load = time.perf_counter() - started
        print(
            f"load: {n_clicks:,} raw clicks (INSERT ... SELECT, indexes kept) in {load:.0f} s "
            f"= {n_clicks / load:,.0f} rows/s; load average {load_average()}"
        )
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL work_mem = '256MB'"))
            for sql in ROLLUPS:
                await conn.execute(text(sql))
            await conn.execute(text("ANALYZE"))
        print(f"rollups built from them in {time.perf_counter() - started:.0f} s")

        clicks = make_clicks(sample_link, sample, now - 30, 30, rng)
        loaded_rate = sample / await write_through_flusher(sessionmaker, clicks, 1000)
        print(
            f"flusher on {n_clicks:,} clicks: {loaded_rate:,.0f} clicks/s "
            f"({loaded_rate / base:.2f}x the empty table); load average {load_average()}"
        )

        await stats(sessionmaker, user, first, now)

        plain = await plain_copy(engine)
        await sizes(engine, plain)
        await retention(engine, sessionmaker, this, now)
    finally:
        await engine.dispose()


async def stats(sessionmaker, user, hot_link: int, now: float) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        user = await session.get(User, user.id)
        hot = await session.get(Link, hot_link)
    assert user is not None and hot is not None
    today = datetime.fromtimestamp(now, UTC)
    cases = [
        ("link, 30 days by day", None, "day", "link"),
        ("link, 12 months by day", (today - timedelta(days=365)).isoformat(), "day", "link"),
        ("link, 7 days by hour", (today - timedelta(days=7)).isoformat(), "hour", "link"),
        ("account overview, 30 days by day", None, "day", "account"),
    ]
    for name, start, interval, what in cases:
        window = resolve_window(start, None, interval, now=today)  # type: ignore[arg-type]
        answers: list[object] = []

        async def ask(cache: StatsCache, window=window, what=what, answers=answers) -> None:  # type: ignore[no-untyped-def]
            async with sessionmaker() as session:
                if what == "link":
                    answers.append(
                        await service.link_stats(
                            session, user=user, key=hot.key, window=window,
                            include_bots=False, top=100, cache=cache,
                        )
                    )  # fmt: skip
                else:
                    answers.append(
                        await service.account_stats(
                            session, user=user, window=window, include_bots=False,
                            top=100, base_url="https://s.example", cache=cache,
                        )
                    )  # fmt: skip

        cold = await timed(lambda ask=ask: ask(StatsCache(0)), 10)
        cache = StatsCache(1024)
        await ask(cache)
        cached = await timed(lambda ask=ask, cache=cache: ask(cache), 200)
        total = answers[-1].total_clicks  # type: ignore[attr-defined]
        print(
            f"stats {name}: {total:,} clicks; cold median {cold[0]:.1f} ms (p95 {cold[1]:.1f}), "
            f"cached median {cached[0]:.2f} ms (p95 {cached[1]:.2f})"
        )
    which = visits.ClickFilter(visits.of_link(hot_link))
    async with sessionmaker() as session:
        count = await visits.count_clicks(session, which)
    for offset in (0, count // 2 // 5000 * 5000):

        async def page(offset: int = offset) -> None:
            async with sessionmaker() as session:
                await visits.page_of_clicks(session, which, offset=offset, limit=5000)

        median, p95 = await timed(page, 10)
        print(
            f"raw visits of the hottest link ({count:,}), a page of 5,000 at offset "
            f"{offset:,}: median {median:.1f} ms (p95 {p95:.1f})"
        )


async def plain_copy(engine) -> str:  # type: ignore[no-untyped-def]
    """The same rows in one plain table with the same indexes (primary key on id alone)."""
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE clicks_plain (LIKE clicks INCLUDING DEFAULTS)"))
        await conn.execute(text("ALTER TABLE clicks_plain ADD PRIMARY KEY (id)"))
        await conn.execute(text("CREATE INDEX ON clicks_plain (clicked_at)"))
        await conn.execute(text("CREATE INDEX ON clicks_plain (link_id, clicked_at, id)"))
        await conn.execute(
            text(f"INSERT INTO clicks_plain SELECT {COLUMNS} FROM clicks ORDER BY random()")
        )
        await conn.execute(text("ANALYZE clicks_plain"))
    print(
        f"plain copy (indexes kept, rows in random order) in {time.perf_counter() - started:.0f} s"
    )
    return "clicks_plain"


async def sizes(engine, plain: str) -> None:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        n = (await conn.execute(text(f"SELECT count(*) FROM {plain}"))).scalar_one()
        for label, table in (("partitioned", "clicks"), ("plain table", plain)):
            row = (await conn.execute(text(SIZES), {"t": table})).one()
            heap, indexes = int(row[0]), int(row[1])
            per = 1_000_000 / n
            print(
                f"size, {label}: table {mb(heap)} + indexes {mb(indexes)} for {n:,} clicks = "
                f"{mb(heap * per)} + {mb(indexes * per)} per million clicks "
                f"({(heap + indexes) / n:.0f} bytes a click)"
            )


async def retention(engine, sessionmaker, this: partitions.Month, now: float) -> None:  # type: ignore[no-untyped-def]
    oldest = this.plus(-MONTHS)
    async with engine.connect() as conn:
        first_data = (await conn.execute(text("SELECT min(clicked_at) FROM clicks"))).scalar()
    # A cutoff 5 days into the second month full of clicks: the months before it go whole.
    month = partitions.Month.of(first_data).plus(2) if first_data else oldest.plus(2)
    cutoff = month.start + timedelta(days=5)
    async with engine.connect() as conn:
        gone = (
            await conn.execute(
                text("SELECT count(*) FROM clicks WHERE clicked_at < :c"), {"c": cutoff}
            )
        ).scalar_one()
    days = (datetime.fromtimestamp(now, UTC) - cutoff).days
    started = time.perf_counter()
    cleaned = await cleanup(sessionmaker, retention_days=days, now=cutoff + timedelta(days=days))
    dropped = time.perf_counter() - started
    started = time.perf_counter()
    deleted = 0
    while True:
        async with engine.begin() as conn:
            result = await conn.execute(
                text(
                    "DELETE FROM clicks_plain WHERE id IN (SELECT id FROM clicks_plain "
                    "WHERE clicked_at < :c LIMIT :n)"
                ),
                {"c": cutoff, "n": SLICE},
            )
        deleted += result.rowcount
        if result.rowcount < SLICE:
            break
    sliced = time.perf_counter() - started
    print(
        f"retention of {gone:,} clicks (before {cutoff:%Y-%m-%d}): partitions dropped + the "
        f"straddling days deleted in {dropped:.1f} s ({cleaned.clicks:,} clicks); the plain "
        f"table's deletes in slices of {SLICE:,}: {sliced:.1f} s ({deleted:,}), "
        f"{sliced / dropped:.1f}x as long; load average {load_average()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clicks", type=int, default=20_000_000)
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("needs a PostgreSQL server: --database-url or TEST_DATABASE_URL")
    name = f"shortener_clicks_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(postgres_database(args.database_url, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
        asyncio.run(run(url, args.clicks, args.links, args.sample))
    finally:
        asyncio.run(
            postgres_database(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


if __name__ == "__main__":
    main()
