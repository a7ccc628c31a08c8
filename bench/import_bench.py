"""How fast does a CSV import go? Generates N rows (default 100,000) in our format, with a
mix of kept keys and random keys, tags on some, and imports them through the same service
the API and CLI use: into a temporary SQLite file and, when TEST_DATABASE_URL is set, into a
PostgreSQL database of its own (created and dropped here). Prints rows per second.

    PYTHONPATH=$PWD python bench/import_bench.py [ROWS]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from shortener.config import Settings
from shortener.db import make_engine, make_sessionmaker
from shortener.links.context import make_link_context
from shortener.migrate import upgrade
from shortener.models import Link, User
from shortener.transfer.formats import EXPORT_COLUMNS, export_line, read_csv
from shortener.transfer.service import import_links
from shortener.workspaces.service import acting_as, create_personal


def make_csv(rows: int) -> str:
    lines = [export_line(EXPORT_COLUMNS)]
    for i in range(rows):
        key = f"b{i:06d}" if i % 2 else ""  # half keep their key, half get a random one
        tags = "bench|even" if i % 10 == 0 else ""
        lines.append(
            export_line(
                (
                    key,
                    f"https://example.com/articles/{i}?utm_source=bench",
                    f"Article {i}",
                    tags,
                    "2024-01-02T03:04:05+00:00",
                    "",
                    "",
                    302,
                    "true",
                    0,
                )
            )
        )
    return "".join(lines)


async def run(url: str, text: str) -> tuple[float, int]:
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with sessionmaker() as session, session.begin():
            user = User(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", password_hash="x")
            session.add(user)
            await session.flush()
            await create_personal(session, user=user)
        settings = Settings(database_url=url, base_url="https://sho.rt", environment="test")
        ctx = await make_link_context(settings, engine, None).fresh()
        started = time.perf_counter()
        async with sessionmaker() as session, session.begin():
            acting = await acting_as(session, user=user)
            parsed = read_csv(text)
            result = await import_links(
                session,
                acting=acting,
                rows=parsed.rows,
                ctx=ctx,
                quota=None,
                format_name=parsed.format,
            )
        elapsed = time.perf_counter() - started
        async with sessionmaker() as session:
            count = (await session.execute(select(func.count()).select_from(Link))).scalar_one()
        assert result.created == count, (result.created, count, result.errors[:3])
        return elapsed, result.created
    finally:
        await engine.dispose()


async def postgres_admin(sql: str, admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    text = make_csv(rows)
    print(f"{rows} rows, {len(text) / 1e6:.1f} MB of CSV")
    targets: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(sqlite_url)
        targets.append(("sqlite", sqlite_url))
        pg_name = None
        admin = os.environ.get("TEST_DATABASE_URL")
        if admin:
            admin_url = make_url(admin).set(drivername="postgresql")
            pg_name = f"shortener_bench_{uuid.uuid4().hex[:8]}"
            plain = admin_url.render_as_string(hide_password=False)
            asyncio.run(postgres_admin(f'CREATE DATABASE "{pg_name}"', plain))
            pg_url = admin_url.set(database=pg_name).render_as_string(hide_password=False)
            upgrade(pg_url)
            targets.append(("postgresql", pg_url))
        try:
            for name, url in targets:
                elapsed, created = asyncio.run(run(url, text))
                rate = created / elapsed
                print(f"{name:10s} {created} links in {elapsed:.2f}s = {rate:,.0f} rows/s")
        finally:
            if pg_name is not None:
                drop = f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'
                asyncio.run(postgres_admin(drop, plain))


if __name__ == "__main__":
    main()
