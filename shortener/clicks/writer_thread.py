"""Click batches written on a thread of their own, away from the requests' event loop.

A batch costs CPU in Python (enrichment, rows, rollups, SQLAlchemy). On the request loop that
work holds redirects up whenever traffic keeps the flusher busy. Here it runs on one thread
of its own; the request loop only awaits the result.

SQLite is written through the plain sqlite3 driver on that thread: through aiosqlite every
statement would hop to yet another thread and back, several hops a statement, which cost more
CPU than the statements themselves (bench/click_pipeline_bench.py). PostgreSQL has no
synchronous driver among our dependencies, so its thread runs an event loop with asyncpg.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shortener.clicks.events import ClickRecord
from shortener.clicks.writer import ORPHANS_PER_MINUTE, write_clicks, write_clicks_sync
from shortener.db import is_sqlite, make_engine, make_sessionmaker, make_sync_engine

T = TypeVar("T")


class ClickWriter(Protocol):
    async def write(self, clicks: Sequence[ClickRecord]) -> int:
        """Write one batch in its own transaction; returns how many clicks were new."""
        ...

    async def close(self) -> None: ...

    def watch_engine(self, callback: Callable[[Engine], None]) -> None:
        """Have `callback` called with the writer's engine (now, or once it exists)."""
        ...


def click_writer(database_url: str, *, orphans_per_minute: int = ORPHANS_PER_MINUTE) -> ClickWriter:
    if is_sqlite(database_url):
        return SqliteClickWriter(database_url, orphans_per_minute=orphans_per_minute)
    return LoopClickWriter(database_url, orphans_per_minute=orphans_per_minute)


class SqliteClickWriter:
    def __init__(self, database_url: str, *, orphans_per_minute: int = ORPHANS_PER_MINUTE) -> None:
        self._orphans_per_minute = orphans_per_minute
        self._engine = make_sync_engine(database_url)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="click-writer")

    async def write(self, clicks: Sequence[ClickRecord]) -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._write, clicks)

    def watch_engine(self, callback: Callable[[Engine], None]) -> None:
        callback(self._engine)

    def _write(self, clicks: Sequence[ClickRecord]) -> int:
        with Session(self._engine) as session, session.begin():
            return write_clicks_sync(session, clicks, orphans_per_minute=self._orphans_per_minute)

    async def close(self) -> None:
        await asyncio.to_thread(self._thread.shutdown, wait=True)
        self._engine.dispose()


class LoopClickWriter:
    """An event loop on a thread of its own, with an async engine that belongs to it."""

    def __init__(self, database_url: str, *, orphans_per_minute: int = ORPHANS_PER_MINUTE) -> None:
        self._orphans_per_minute = orphans_per_minute
        self._url = database_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="click-writer", daemon=True
        )
        self._thread.start()
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._on_engine: Callable[[Engine], None] | None = None

    def watch_engine(self, callback: Callable[[Engine], None]) -> None:
        # Given the engine once it exists (on the writer's thread): the metrics count its errors.
        self._on_engine = callback

    async def _on_thread(self, coro: Coroutine[Any, Any, T]) -> T:
        # Cancelling the awaiting task cancels the work on the writer's loop too.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def write(self, clicks: Sequence[ClickRecord]) -> int:
        return await self._on_thread(self._write(clicks))

    async def _write(self, clicks: Sequence[ClickRecord]) -> int:
        if self._sessionmaker is None:
            # Made on the writer's loop: an async engine belongs to the loop that uses it.
            self._engine = make_engine(self._url, pool_size=2, max_overflow=2)
            if self._on_engine is not None:
                self._on_engine(self._engine.sync_engine)
            self._sessionmaker = make_sessionmaker(self._engine)
        async with self._sessionmaker() as session, session.begin():
            return await write_clicks(session, clicks, orphans_per_minute=self._orphans_per_minute)

    async def close(self) -> None:
        if self._engine is not None:
            await self._on_thread(self._engine.dispose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, 10)
        if not self._thread.is_alive():
            self._loop.close()
