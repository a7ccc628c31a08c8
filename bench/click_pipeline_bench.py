#!/usr/bin/env python
"""CPU cost of one click after its redirect: making its record, then writing it.

    python bench/click_pipeline_bench.py [--clicks 40000] [--batch 250] [--links 1]
                                         [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

Every redirect's click is made into a record by the worker's pump (client address, country,
visitor hash) and later written by the flusher (enrichment, the raw row, rollups). All of it
runs on the same CPU as the redirects, so its cost per click bounds how close the redirect
benchmark can come to the bare ASGI app. Printed: CPU µs per click (process time, every
thread) for the pump and for each writer, with the click writer on its thread against the
same batches written on the event loop through the async driver (the baseline), and what
the database server spent besides (PostgreSQL's processes; SQLite works inside ours). With
`--links N` the clicks are spread evenly over N links, as on a site with a long tail: the
rollups then have a row per link where one link's clicks share a single row.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import stores_cpu_seconds, workspace_of
from redirect_bench import _create_pg_database, _drop_pg_database

from shortener.auth.service import create_user
from shortener.clicks.client_ip import TrustedProxies
from shortener.clicks.flusher import Flusher
from shortener.clicks.geo import CountryLookup
from shortener.clicks.queue import LocalQueue
from shortener.clicks.recorder import ClickRecorder
from shortener.clicks.salts import SaltProvider
from shortener.clicks.writer_thread import click_writer
from shortener.config import load_settings
from shortener.db import is_sqlite, make_engine, make_sessionmaker
from shortener.migrate import upgrade
from shortener.models import Link

HEADERS = [
    (b"host", b"short.example"),
    (
        b"user-agent",
        b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        b"Chrome/120.0 Safari/537.36",
    ),
    (b"referer", b"https://news.example.org/item?id=1"),
]


async def run(database_url: str, clicks: int, batch: int, links: int) -> dict[str, float]:
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        user = await create_user(session, email="bench@example.com", password="bench-password")
        await session.flush()
        row = {"key": "k", "url": "https://e.com", "url_md5": "-", "key_strategy": "alias"}
        workspace = await workspace_of(session, user)
        await session.execute(
            insert(Link),
            [
                {**row, "key": f"k{i}", "owner_id": user.id, "workspace_id": workspace}
                for i in range(links)
            ],
        )
    ids = random.Random(1).choices(range(1, links + 1), k=clicks)
    queue = LocalQueue()
    recorder = ClickRecorder(
        queue,
        salts=SaltProvider(sessionmaker),
        countries=CountryLookup(load_settings().geoip_database),
        trusted_proxies=TrustedProxies.parse("127.0.0.1,::1"),
    )
    figures = {}
    writers = {"on the loop (baseline)": None, "click writer thread": click_writer(database_url)}
    for name, writer in writers.items():
        for i in range(clicks):  # a thousand visitors, each many times
            await recorder.record(ids[i], HEADERS, f"198.51.{i % 4}.{i % 250}")
        started = time.process_time()
        await recorder.ship()
        figures["pump: making records"] = (time.process_time() - started) / clicks * 1e6
        flusher = Flusher(queue, sessionmaker, interval=1, batch_size=batch, writer=writer)
        await flusher.drain()  # (the first batch of each includes warming caches up)
        started = time.process_time()
        for i in range(clicks):
            await recorder.record(ids[i], HEADERS, f"198.51.{i % 4}.{i % 250}")
        await recorder.ship()
        shipped, stores = time.process_time(), stores_cpu_seconds()
        await flusher.drain()
        figures[f"writing: {name}"] = (time.process_time() - shipped) / clicks * 1e6
        if not is_sqlite(database_url):
            figures[f"  PostgreSQL's share: {name}"] = (
                (stores_cpu_seconds() - stores) / clicks * 1e6
            )
        if writer is not None:
            await writer.close()
    await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clicks", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--links", type=int, default=1, help="links the clicks are spread over")
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    targets = {"sqlite": f"sqlite:///{tempfile.mkdtemp(prefix='shortener-bench-')}/clicks.db"}
    if args.postgres_url:
        targets["postgresql"] = _create_pg_database(args.postgres_url)
    try:
        for name, url in targets.items():
            upgrade(url)
            figures = asyncio.run(run(url, args.clicks, args.batch, args.links))
            print(
                f"\n{name}: {args.clicks} clicks over {args.links} links, batches of {args.batch},"
                " CPU per click"
            )
            for what, micros in figures.items():
                print(f"  {what:<36}{micros:>8.1f} µs")
            base = figures["writing: on the loop (baseline)"]
            ratio = base / figures["writing: click writer thread"]
            print(f"  writer thread vs baseline: {ratio:.2f}x cheaper")
    finally:
        if "postgresql" in targets:
            _drop_pg_database(targets["postgresql"])


if __name__ == "__main__":
    main()
