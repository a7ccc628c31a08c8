"""Paging a million raw clicks the way Shlink's web client does (GET .../visits).

    python bench/shlink_visits_bench.py [--clicks N] [--database-url URL]

Always runs on a temporary SQLite file; also on PostgreSQL when --database-url or
TEST_DATABASE_URL names a server (a database of its own, dropped afterwards). For each:

1. inserts `--clicks` raw clicks (default 1,000,000) for one link, over 90 days, straight
   into the clicks table (the paging reads nothing else), then ANALYZE/VACUUM as a live
   database's autovacuum would have;
2. times the code behind GET /rest/v3/short-urls/{code}/visits (the link, the count, one page
   of 5,000 shaped as Shlink visits) for the first, a middle and the last page, counting each
   time and with the count a burst shares; then the whole link as the web client reads it:
   page 1, then the rest four at a time.

Figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
from _harness import workspace_of
from sqlalchemy.engine import make_url

from shortener.compat.shlink.visits import VisitQuery, link_visit_count, visit_page
from shortener.db import make_engine, make_sessionmaker
from shortener.migrate import upgrade
from shortener.models import Click, Link, User
from shortener.stats.cache import StatsCache
from shortener.stats.visits import ClickFilter, of_link

PAGE = 5_000
BROWSERS = ["Chrome", "Firefox", "Safari", "Mobile Safari", "Edge", None]
OSES = ["Windows", "Mac OS X", "iOS", "Android", "Linux", None]
COUNTRIES = ["US", "GB", "DE", "FR", "JP", None]


def rows(link_id: int, n: int, rng: random.Random):  # type: ignore[no-untyped-def]
    start = datetime.now(UTC) - timedelta(days=90)
    for i in range(n):
        yield {
            "id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "link_id": link_id,
            "clicked_at": start + timedelta(seconds=i * 90 * 86_400 / n),
            "referrer_host": rng.choice(["", "t.co", "news.ycombinator.com"]) or None,
            "country": rng.choice(COUNTRIES),
            "browser": rng.choice(BROWSERS),
            "os": rng.choice(OSES),
            "device": "desktop",
            "is_bot": rng.random() < 0.05,
            "visitor_hash": None,
            "variant": None,
        }


COLUMNS = [c.name for c in Click.__table__.columns]  # type: ignore[attr-defined]


async def load(url: str, label: str, link_id: int, n: int, rng: random.Random) -> None:
    """Bulk inserts by the drivers themselves (COPY; executemany): the ORM would take longer
    than the bench."""
    if label == "postgresql":
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            records = [tuple(r[c] for c in COLUMNS) for r in rows(link_id, n, rng)]
            await conn.copy_records_to_table("clicks", records=records, columns=COLUMNS)
            await conn.execute("VACUUM ANALYZE clicks")
        finally:
            await conn.close()
        return
    path = make_url(url).database
    with sqlite3.connect(str(path)) as db:
        sql = f"INSERT INTO clicks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        naive = (
            tuple(
                r[c].replace(tzinfo=None) if isinstance(r[c], datetime) else r[c] for c in COLUMNS
            )
            for r in rows(link_id, n, rng)
        )
        db.executemany(sql, naive)
        db.execute("ANALYZE")


async def bench(url: str, label: str, n_clicks: int) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    rng = random.Random(7)
    async with sessionmaker() as session, session.begin():
        user = User(email="bench@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        workspace = await workspace_of(session, user)
        link = Link(key="bench", url="https://e.com/", url_md5="0" * 32, key_strategy="alias",
                    owner_id=user.id or 0, workspace_id=workspace)  # fmt: skip
        session.add(link)
        await session.flush()
        link_id = link.id or 0
    began = time.perf_counter()
    await load(url, label, link_id, n_clicks, rng)
    print(f"[{label}] loaded {n_clicks:,} clicks in {time.perf_counter() - began:.1f} s")

    which = ClickFilter(of_link(link_id))
    pages = -(-n_clicks // PAGE)

    cache = StatsCache(1000)

    async def fetch(page: int, cached: bool = True) -> float:
        async with sessionmaker() as session:
            start = time.perf_counter()
            link = await session.get(Link, link_id)
            assert link is not None
            # As the route does: the count once per burst (link_visit_count), then the page.
            counts = cache if cached else StatsCache(1)
            total = await link_visit_count(session, link, which, counts)
            query = VisitQuery(None, None, page, PAGE, include_bots=True)
            answer = await visit_page(session, which, query, base_url="http://b", total=total)
            took = time.perf_counter() - start
        assert answer["visits"]["pagination"]["totalItems"] == n_clicks
        return took

    for page in sorted({1, max(1, pages // 2), pages}):
        cold = sorted([await fetch(page, cached=False) for _ in range(3)])
        warm = sorted([await fetch(page) for _ in range(3)])
        print(
            f"[{label}] page {page:>4} of {pages}: median {cold[1] * 1000:7.1f} ms counting, "
            f"{warm[1] * 1000:7.1f} ms with the burst's count"
        )
    start = time.perf_counter()
    await fetch(1)
    rest = list(range(2, pages + 1))
    for i in range(0, len(rest), 4):
        await asyncio.gather(*(fetch(p) for p in rest[i : i + 4]))
    whole = time.perf_counter() - start
    print(f"[{label}] all {pages} pages as the web client reads them (4 at a time): {whole:.1f} s")
    await engine.dispose()


async def postgres_database(admin_url: str, sql: str) -> None:
    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench(f"sqlite:///{tmp}/bench.db", "sqlite", args.clicks))
    if args.database_url:
        name = f"shortener_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(postgres_database(args.database_url, f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.database_url).set(database=name)
            asyncio.run(bench(url.render_as_string(hide_password=False), "postgresql", args.clicks))
        finally:
            drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            asyncio.run(postgres_database(args.database_url, drop))


if __name__ == "__main__":
    main()
