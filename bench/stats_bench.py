"""Stats on a link with a million clicks, and the flusher's sustained write rate.

    python bench/stats_bench.py [--clicks N] [--sample N] [--database-url URL]

Always runs on a temporary SQLite file; also on PostgreSQL when --database-url or
TEST_DATABASE_URL names a server (the bench creates and drops a database of its own there).
For each database it:

1. writes `--sample` clicks (default 50,000) through the real Flusher and writer (enrichment,
   raw insert, visitors, rollups, counters; batches of CLICK_BATCH_SIZE=1000) timed: the
   flusher's sustained clicks/s. The sample's clicks come within one minute, as live
   traffic does, so a batch touches one hour of rollups;
2. loads `--clicks` clicks (default 1,000,000) for one link, spread over the last 30 days in
   time order, through the same writer in big batches (10,000), timed: the load time;
3. asks the stats service (the code behind GET /api/links/{key}/stats, with its ownership
   query) for several windows, cold (an empty cache each time) and cached.

Figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
from _harness import workspace_of
from sqlalchemy.engine import make_url

from shortener.clicks.events import ClickRecord
from shortener.clicks.flusher import Flusher
from shortener.clicks.queue import LocalQueue
from shortener.db import make_engine, make_sessionmaker
from shortener.migrate import upgrade
from shortener.models import Link, User
from shortener.stats import service
from shortener.stats.cache import StatsCache
from shortener.stats.window import resolve_window
from shortener.workspaces.service import acting_as

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.{}.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:12{}.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel {}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{}) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
]
BOTS = ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "curl/8.5.0"]
AGENTS = [b.format(i) for b in BROWSERS for i in range(8)] + BOTS
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "BR", "IN", "CA", "AU", "NL", None]
REFERRERS = ["", "https://t.co/x", "https://news.ycombinator.com/", "https://www.google.com/"]
REFERRERS += [f"https://blog{i}.example.com/post" for i in range(12)]


def make_clicks(link_id: int, n: int, start: float, span: float, rng: random.Random) -> list:  # type: ignore[type-arg]
    """n clicks in time order between start and start + span, from n / 5 visitors."""
    times = sorted(start + rng.random() * span for _ in range(n))
    visitors = max(1, n // 5)
    return [
        ClickRecord(
            link_id=link_id,
            ts=ts,
            user_agent=rng.choice(AGENTS),
            referrer=rng.choice(REFERRERS),
            country=rng.choice(COUNTRIES),
            visitor_hash=f"{rng.randrange(visitors):064x}",
        )
        for ts in times
    ]


async def write_through_flusher(sessionmaker, clicks: list, batch_size: int) -> float:  # type: ignore[no-untyped-def, type-arg]
    queue = LocalQueue()
    for click in clicks:
        queue.put_nowait(click)
    flusher = Flusher(queue, sessionmaker, interval=1.0, batch_size=batch_size)
    started = time.perf_counter()
    await flusher.drain()
    elapsed = time.perf_counter() - started
    assert flusher.flushed == len(clicks), (flusher.flushed, len(clicks))
    return elapsed


async def timed(fn: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


async def bench(url: str, label: str, n_clicks: int, sample: int) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    rng = random.Random(42)
    try:
        async with sessionmaker() as session, session.begin():
            user = User(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", password_hash="x")
            session.add(user)
            await session.flush()
            workspace = await workspace_of(session, user)
            links = [
                Link(key=k, url="https://example.com/", url_md5="0", key_strategy="alias",
                     owner_id=user.id or 0, workspace_id=workspace)
                for k in ("flush-sample", "million")
            ]  # fmt: skip
            session.add_all(links)
        sample_link, big_link = links[0].id or 0, links[1].id or 0
        now = time.time()

        clicks = make_clicks(sample_link, sample, now - 60, 60, rng)
        elapsed = await write_through_flusher(sessionmaker, clicks, 1000)
        print(f"[{label}] flusher, batches of 1000: {sample:,} clicks in {elapsed:.1f} s "
              f"= {sample / elapsed:,.0f} clicks/s")  # fmt: skip

        loaded, load_time = 0, 0.0
        chunk = 100_000
        span = 30 * 86_400
        while loaded < n_clicks:
            n = min(chunk, n_clicks - loaded)
            part_start = now - span + span * loaded / n_clicks
            clicks = make_clicks(big_link, n, part_start, span * n / n_clicks, rng)
            load_time += await write_through_flusher(sessionmaker, clicks, 10_000)
            loaded += n
        rate = n_clicks / load_time
        print(f"[{label}] load: {n_clicks:,} clicks over 30 days through the writer "
              f"(batches of 10,000) in {load_time:.1f} s = {rate:,.0f} clicks/s")  # fmt: skip

        async with sessionmaker() as session:
            user = await session.get(User, user.id)
            assert user is not None
            acting = await acting_as(session, user=user)
        cases = [
            ("30 days by day (default)", None, None, "day", False),
            ("30 days by day, bots too", None, None, "day", True),
            ("7 days by hour", datetime.fromtimestamp(now - 7 * 86_400, UTC).isoformat(), None,
             "hour", False),
        ]  # fmt: skip
        for name, start, end, interval, bots in cases:
            window = resolve_window(start, end, interval, now=datetime.now(UTC))  # type: ignore[arg-type]
            cache = StatsCache(1024)
            answer: list[object] = []

            async def ask(cache=cache, window=window, bots=bots, answer=answer) -> None:  # type: ignore[no-untyped-def]
                async with sessionmaker() as session:
                    answer.append(
                        await service.link_stats(
                            session, acting=acting, key="million", window=window,
                            include_bots=bots, top=100, cache=cache,
                        )
                    )  # fmt: skip

            async def cold(window=window, bots=bots) -> None:  # type: ignore[no-untyped-def]
                await ask(StatsCache(0), window, bots)

            cold_ms = await timed(cold, 15)
            await ask()
            cached_ms = await timed(ask, 300)
            total = answer[-1].total_clicks  # type: ignore[attr-defined]
            print(f"[{label}] stats {name}: {total:,} clicks; cold median {cold_ms[0]:.1f} ms "
                  f"(p95 {cold_ms[1]:.1f}), cached median {cached_ms[0]:.2f} ms "
                  f"(p95 {cached_ms[1]:.2f})")  # fmt: skip
    finally:
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
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench(f"sqlite:///{tmp}/bench.db", "sqlite", args.clicks, args.sample))
    if args.database_url:
        name = f"shortener_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(postgres_database(args.database_url, f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.database_url).set(database=name)
            pg_url = url.render_as_string(hide_password=False)
            asyncio.run(bench(pg_url, "postgresql", args.clicks, args.sample))
        finally:
            drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            asyncio.run(postgres_database(args.database_url, drop))


if __name__ == "__main__":
    main()
