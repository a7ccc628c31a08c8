"""Raw clicks at scale on PostgreSQL: 20 million clicks, partitioned by month.

    python bench/clicks_scale_bench.py [--clicks N] [--links N] [--sample N] [--database-url URL]
    python bench/clicks_scale_bench.py --migration N    # the migration's time on N clicks

Creates a database of its own on --database-url (default TEST_DATABASE_URL), migrates it (so
`clicks` is partitioned by month), and drops it at the end. Then:

1. the flusher's clicks/s on the empty database (the baseline): `--sample` clicks (default
   50,000) queued, written by the real Flusher and writer in batches of 1,000, for one link
   and spread uniformly over all the links (the long tail: a batch touches ~1,000 links);
2. loads `--clicks` raw clicks (default 20,000,000) with INSERT ... SELECT generate_series, over
   `--links` links (default 10,000; skewed: the hottest link gets ~1/3 of them) and the last
   12 months, into their monthly partitions, then builds the rollups the stats read from them
   (GROUP BY, as the writer would have counted them);
3. the same flusher run again, now on top of the loaded table: clicks/s and the ratio;
4. stats latency, cold (no cache) and cached, through the real stats service: the hottest
   link (30 days by day, 12 months by day, 7 days by hour), the account overview (30 days),
   and the raw-click readers (the Shlink-compatible visits pages: first and a deep page);
5. table and index size per million clicks, partitioned and as one plain table (a copy of the
   oldest 4 months with the same indexes, written in time order the same way);
6. retention with a cutoff a few days into a month: dropping the whole months before it
   (partitions.drop_expired_sync, what cleanup() does first), then the real cleanup()
   (deletes the straddling days in slices), against deleting the same rows from the plain
   table in the same slices (retention.py before partitions) and the VACUUM that makes their
   space reusable.

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
from shortener.workspaces.service import acting_as, create_personal

MONTHS = 12
BEFORE_PARTITIONS = "5a8c1e3f7b20"  # the revision before clicks were partitioned
PLAIN_MONTHS = 4  # the plain table's copy: the oldest months (see plain_copy)
CHUNK = 1_000_000
DAY = 86_400
COLUMNS = (
    "id, link_id, clicked_at, referrer_host, country, browser, os, device, is_bot, "
    "visitor_hash, variant"
)
# n is the click's number; r1, r3 random numbers per row. Values drawn as live traffic has them,
# in time order as the flushers write them (one month's partition at a time).
GENERATE = f"""
INSERT INTO {{table}} ({COLUMNS})
SELECT 'b' || lpad(to_hex(n % 7), 15, '0') || lpad(to_hex(n), 16, '0'),
       CAST(:first_link AS int) + floor(CAST(:links AS int) * r1 * r1 * r1)::int,
       to_timestamp(CAST(:start AS float8) + n * CAST(:span AS float8) / CAST(:total AS float8)),
       (ARRAY[NULL, 't.co', 'news.ycombinator.com', 'www.google.com', 'blog1.example.com',
              'blog2.example.com'])[1 + floor(r3 * 6)::int],
       (ARRAY['US', 'GB', 'DE', 'FR', 'JP', 'BR', 'IN', 'CA', NULL])[1 + (n % 9)],
       (ARRAY['Chrome', 'Safari', 'Firefox', 'Edge', 'Googlebot'])[1 + (n % 5)],
       (ARRAY['Windows', 'iOS', 'Linux', 'Android', 'macOS'])[1 + (n / 5 % 5)],
       (ARRAY['desktop', 'mobile', 'tablet', 'bot'])[1 + (n / 25 % 4)],
       n % 10 = 0,
       md5((n / 5)::text) || md5((n / 5)::text || 'x'),
       NULL
FROM (SELECT n, random() AS r1, random() AS r3
      FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS n) AS g
"""
ROLLUPS = [
    """INSERT INTO click_rollups (link_id, hour, is_bot, clicks, visitors)
       SELECT link_id, floor(extract(epoch FROM clicked_at) / 3600)::int AS h, is_bot,
              count(*), count(*) / 3
       FROM clicks WHERE link_id < (SELECT max(id) FROM links)
       GROUP BY link_id, h, is_bot
       ON CONFLICT (link_id, hour, is_bot) DO UPDATE
       SET clicks = click_rollups.clicks + excluded.clicks,
           visitors = click_rollups.visitors + excluded.visitors""",
    """INSERT INTO click_dimensions_daily (link_id, day, is_bot, dimension, value, clicks)
       SELECT link_id, floor(extract(epoch FROM clicked_at) / 86400)::int AS d, is_bot,
              dim, coalesce(val, ''), count(*)
       FROM clicks, LATERAL (VALUES ('referrer', referrer_host), ('country', country),
            ('browser', browser), ('os', os), ('device', device)) AS v(dim, val)
       WHERE link_id = (SELECT min(id) FROM links)
       GROUP BY link_id, d, is_bot, dim, coalesce(val, '')
       ON CONFLICT (link_id, day, is_bot, dimension, value) DO UPDATE
       SET clicks = click_dimensions_daily.clicks + excluded.clicks""",
    # Hour windows span at most 31 days: the hourly dimensions of the last 31 days. The last link
    # is the flusher's sample, counted by the writer itself.
    """INSERT INTO click_dimensions (link_id, hour, is_bot, dimension, value, clicks)
       SELECT link_id, floor(extract(epoch FROM clicked_at) / 3600)::int AS h, is_bot,
              dim, coalesce(val, ''), count(*)
       FROM clicks, LATERAL (VALUES ('referrer', referrer_host), ('country', country),
            ('browser', browser), ('os', os), ('device', device)) AS v(dim, val)
       WHERE clicked_at >= now() - interval '31 days' AND link_id = (SELECT min(id) FROM links)
       GROUP BY link_id, h, is_bot, dim, coalesce(val, '')
       ON CONFLICT (link_id, hour, is_bot, dimension, value) DO UPDATE
       SET clicks = click_dimensions.clicks + excluded.clicks""",
    """UPDATE links SET clicks = coalesce(r.people, 0), bot_clicks = coalesce(r.bots, 0)
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
        user, first = await make_links(sessionmaker, n_links + 1)
        sample_link = first + n_links  # the last one: the flusher's sample, not in the load

        # A first small run warms the process (imports, statement caches) for the baseline.
        await write_through_flusher(
            sessionmaker, make_clicks(sample_link, 2000, now - 90, 1, rng), 1000
        )
        clicks = make_clicks(sample_link, sample, now - 60, 60, rng)
        base = sample / await write_through_flusher(sessionmaker, clicks, 1000)
        print(f"flusher on the empty table: {base:,.0f} clicks/s (batches of 1,000)")
        before = await rollup_bytes(engine)
        clicks = spread(make_clicks(0, sample, now - 60, 60, rng), first, n_links, rng)
        base_spread = sample / await write_through_flusher(sessionmaker, clicks, 1000)
        print(f"  the same over all {n_links:,} links (long tail): {base_spread:,.0f} clicks/s")
        grown = await rollup_bytes(engine) - before
        print(
            f"  rollups, dimensions and visitor rows those {sample:,} long-tail clicks added: "
            f"{mb(grown)} = {mb(grown * 1_000_000 / sample)} per million such clicks "
            f"({grown / sample:.0f} bytes a click; clicks of one link add almost nothing)"
        )

        # The last 12 months' partitions, as the flushers would have made them month by month.
        this = partitions.Month.of(datetime.fromtimestamp(now, UTC))
        async with engine.begin() as conn:
            for month in partitions.month_range(this.plus(-MONTHS), this):
                if month not in await conn.run_sync(partitions.months):
                    await conn.run_sync(partitions.create_month, month)
        await load(engine, first, n_links, n_clicks, now)
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL work_mem = '256MB'"))
            for sql in ROLLUPS:
                await conn.execute(text(sql))
        # As autovacuum would have left it: statistics, and visibility maps for index-only scans.
        await vacuum(engine, "")
        print(f"rollups built from them in {time.perf_counter() - started:.0f} s")

        clicks = make_clicks(sample_link, sample, now - 30, 30, rng)
        loaded_rate = sample / await write_through_flusher(sessionmaker, clicks, 1000)
        print(
            f"flusher on {n_clicks:,} clicks: {loaded_rate:,.0f} clicks/s "
            f"({loaded_rate / base:.2f}x the empty table); load average {load_average()}"
        )
        clicks = spread(make_clicks(0, sample, now - 30, 30, rng), first, n_links, rng)
        rate = sample / await write_through_flusher(sessionmaker, clicks, 1000)
        print(
            f"  the same over all {n_links:,} links (long tail): {rate:,.0f} clicks/s "
            f"({rate / base_spread:.2f}x the empty table)"
        )

        await stats(sessionmaker, user, first, now)

        plain = await plain_copy(engine, this)
        await sizes(engine, plain)
        await retention(engine, sessionmaker, this, now)
    finally:
        await engine.dispose()


async def make_links(sessionmaker, n: int) -> tuple[User, int]:  # type: ignore[no-untyped-def]
    """An account with n links; returns it and the first link's id."""
    async with sessionmaker() as session, session.begin():
        user = User(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        workspace = (await create_personal(session, user=user)).id
        await session.execute(
            text(
                "INSERT INTO links (key, url, url_md5, key_strategy, owner_id, workspace_id, "
                "created_at, updated_at, uses, redirect_type, is_active, clicks, bot_clicks) "
                "SELECT 'k' || n, 'https://example.com/' || n, md5(n::text), 'alias', :o, :w, "
                "now(), now(), 0, 302, true, 0, 0 FROM generate_series(1, :n) AS n"
            ),
            {"o": user.id, "w": workspace, "n": n},
        )
        first = (await session.execute(text("SELECT min(id) FROM links"))).scalar_one()
    return user, int(first)


async def load(engine, first: int, n_links: int, n_clicks: int, now: float) -> None:  # type: ignore[no-untyped-def]
    """n_clicks raw clicks over the last MONTHS months, in time order, a CHUNK a transaction."""
    start = now - MONTHS * 30.4 * DAY
    started = time.perf_counter()
    for lo in range(1, n_clicks + 1, CHUNK):
        hi = min(lo + CHUNK - 1, n_clicks)
        async with engine.begin() as conn:
            await conn.execute(
                text(GENERATE.format(table="clicks")),
                {"first_link": first, "links": n_links, "start": start,
                 "span": now - 120 - start, "lo": lo, "hi": hi, "total": n_clicks},
            )  # fmt: skip
        print(f"  loaded {hi:,} clicks, {time.perf_counter() - started:.0f} s", flush=True)
    load = time.perf_counter() - started
    print(
        f"load: {n_clicks:,} raw clicks (INSERT ... SELECT, indexes kept) in {load:.0f} s "
        f"= {n_clicks / load:,.0f} rows/s; load average {load_average()}"
    )


async def migration(url: str, n_clicks: int) -> None:
    """The migration to monthly partitions, and back, on a table of n_clicks raw clicks."""
    from alembic import command

    from shortener.migrate import alembic_config

    await asyncio.to_thread(upgrade, url, BEFORE_PARTITIONS)
    engine = make_engine(url)
    try:
        _, first = await make_links(make_sessionmaker(engine), 1000)
        await load(engine, first, 1000, n_clicks, time.time())
    finally:
        await engine.dispose()
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, url)
    up = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.to_thread(command.downgrade, alembic_config(url), BEFORE_PARTITIONS)
    down = time.perf_counter() - started
    print(
        f"migration of {n_clicks:,} raw clicks to monthly partitions: {up:.0f} s "
        f"({n_clicks / up:,.0f} rows/s); back to one table: {down:.0f} s; "
        f"load average {load_average()}"
    )


async def rollup_bytes(engine) -> int:  # type: ignore[no-untyped-def]
    tables = ("click_rollups", "click_dimensions", "click_dimensions_daily", "link_visitors")
    sql = " + ".join(f"pg_total_relation_size('{t}')" for t in tables)
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT {sql}"))).scalar_one())


def spread(clicks: list, first: int, n_links: int, rng: random.Random) -> list:  # type: ignore[type-arg]
    """The clicks given to links drawn uniformly (each batch then touches ~1,000 links)."""
    for click in clicks:
        click.link_id = first + rng.randrange(n_links)
    return clicks


async def stats(sessionmaker, user, hot_link: int, now: float) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        user = await session.get(User, user.id)
        hot = await session.get(Link, hot_link)
        assert user is not None and hot is not None
        acting = await acting_as(session, user=user)
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
                            session, acting=acting, key=hot.key, window=window,
                            include_bots=False, top=100, cache=cache,
                        )
                    )  # fmt: skip
                else:
                    answers.append(
                        await service.account_stats(
                            session, acting=acting, window=window, include_bots=False,
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


async def plain_copy(engine, this: partitions.Month) -> str:  # type: ignore[no-untyped-def]
    """The oldest PLAIN_MONTHS months' rows in one plain table with the same indexes (primary key
    on id alone), copied in time order as the flushers would have written them. Not all 20M:
    on a shared 2-core machine that copy alone took longer than the whole run; the per-click
    sizes and the deletes' cost do not need them all."""
    started = time.perf_counter()
    until = this.plus(-MONTHS + PLAIN_MONTHS).start
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE clicks_plain (LIKE clicks INCLUDING DEFAULTS)"))
        await conn.execute(text("ALTER TABLE clicks_plain ADD PRIMARY KEY (id)"))
        await conn.execute(text("CREATE INDEX ON clicks_plain (clicked_at)"))
        await conn.execute(text("CREATE INDEX ON clicks_plain (link_id, clicked_at, id)"))
        await conn.execute(
            text(
                f"INSERT INTO clicks_plain SELECT {COLUMNS} FROM clicks "
                "WHERE clicked_at < :u ORDER BY clicked_at"
            ),
            {"u": until},
        )
    await vacuum(engine, "clicks_plain")
    elapsed = time.perf_counter() - started
    print(f"plain copy of the clicks before {until:%Y-%m-%d} (indexes kept) in {elapsed:.0f} s")
    return "clicks_plain"


async def sizes(engine, plain: str) -> None:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        for label, table in (("partitioned", "clicks"), ("plain table", plain)):
            n = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
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
    async with engine.begin() as conn:
        whole = await conn.run_sync(partitions.drop_expired_sync, cutoff)
    dropping = time.perf_counter() - started
    started = time.perf_counter()
    # What is left: the straddling month's rows before the cutoff, deleted in slices.
    cleaned = await cleanup(sessionmaker, retention_days=days, now=cutoff + timedelta(days=days))
    straddling = time.perf_counter() - started
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
    started = time.perf_counter()
    await vacuum(engine, "clicks_plain")
    vacuumed = time.perf_counter() - started
    print(
        f"retention of {gone:,} clicks (before {cutoff:%Y-%m-%d}), partitioned: whole months "
        f"dropped in {dropping:.1f} s ({whole:,} clicks, counted before the drop), the "
        f"straddling month's {cleaned.clicks:,} deleted in slices of {SLICE:,} in "
        f"{straddling:.1f} s; plain table: the same {deleted:,} deleted in slices in "
        f"{sliced:.1f} s, then VACUUM {vacuumed:.1f} s to make the space reusable (a drop frees "
        f"it at once). Per million clicks: dropped {dropping / whole * 1e6:.2f} s, deleted "
        f"{(sliced + vacuumed) / deleted * 1e6:.1f} s with the VACUUM; "
        f"load average {load_average()}"
    )


async def vacuum(engine, table: str) -> None:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text(f"VACUUM ANALYZE {table}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clicks", type=int, default=20_000_000)
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument(
        "--migration",
        type=int,
        default=0,
        metavar="N",
        help="instead: time the migration to partitions (and back) on a table of N clicks",
    )
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("needs a PostgreSQL server: --database-url or TEST_DATABASE_URL")
    name = f"shortener_clicks_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(postgres_database(args.database_url, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
        if args.migration:
            asyncio.run(migration(url, args.migration))
        else:
            asyncio.run(run(url, args.clicks, args.links, args.sample))
    finally:
        asyncio.run(
            postgres_database(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


if __name__ == "__main__":
    main()
